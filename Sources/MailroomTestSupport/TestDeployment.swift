import Foundation
import MailroomSupport

/// A sandbox for one test or benchmark run: its own prefix, subnet, ports and directories, and
/// a spec of the guide's 13 containers with busybox stand-ins. `cleanup()` removes exactly
/// what it created.
package struct TestDeployment: Sendable {
    package let prefix: String
    package let index: Int
    package let root: String

    package var specDirectory: String { root + "/spec" }
    package var host: HostPaths {
        HostPaths(stateDirectory: root + "/state", unitsDirectory: root + "/units", secretsFile: root + "/secrets.env")
    }
    package var networkName: String { prefix + "net" }
    package var subnet: String { "10.213.\(index).0/24" }
    /// Published ports are `portBase` and up, on 127.0.0.1; a test has 20 of them.
    package var portBase: Int { 20000 + index * 20 }

    private static let counter = Counter()

    /// A new sandbox under `directory`, named `<stem><pid>-<index>-`; writes a secrets file with
    /// mode 0600. The index (subnet, ports) skips subnets another process (another test run on
    /// this machine) already uses.
    /// - Parameters:
    ///   - label: part of the root directory's name, to tell sandboxes apart when one is left behind.
    ///   - stem: the start of the prefix: `mrt` for tests, `mrb` for the benchmark.
    package static func make(_ label: String = "t", stem: String = "mrt", in directory: String = NSTemporaryDirectory())
        async throws
        -> TestDeployment
    {
        let used = Set(((try? await TestPodman.podman().listNetworks()) ?? []).flatMap { $0.subnets.map(\.subnet) })
        var index = await counter.next()
        for _ in 0..<250 where used.contains("10.213.\(index).0/24") { index = await counter.next() }
        let prefix = "\(stem)\(getpid() % 10000)-\(index)-"
        let root = "\(directory.trimmingTrailingSlash)/mailroom-\(label)-\(getpid())-\(index)"
        try? FileManager.default.removeItem(atPath: root)
        for directory in ["spec", "state", "units"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(directory)", withIntermediateDirectories: true)
        }
        let deployment = TestDeployment(prefix: prefix, index: index, root: root)
        try AtomicFile.write("SECRET_KEY=test-secret-\(index)\n", to: deployment.host.secretsFile, mode: 0o600)
        return deployment
    }

    /// The stand-in spec (`StandInImages.spec`): the guide's deployment, with local images,
    /// a test subnet, loopback ports, k8s-file logs and `--init` so stops are quick.
    package func standInSpec(
        mailu: [String] = [], overrides: [String: [String: String]] = [:], extra: String = "", containers: String = "",
        domains: [String] = ["example.com"]
    ) -> String {
        StandInImages.spec(
            prefix: prefix, index: index, root: root, portBase: portBase, mailu: mailu, overrides: overrides,
            containers: containers, extra: extra, domains: domains)
    }

    /// Runs `body` with a new sandbox and removes what it created afterwards, also on failure.
    package static func with(_ label: String = "t", _ body: (TestDeployment) async throws -> Void) async throws {
        let deployment = try await make(label)
        do { try await body(deployment) } catch {
            await deployment.cleanup()
            throw error
        }
        await deployment.cleanup()
    }

    package func writeSpec(_ text: String) throws {
        try text.write(toFile: specDirectory + "/mailroom.yaml", atomically: true, encoding: .utf8)
    }

    /// Removes the containers and networks with this prefix, and the root directory.
    package func cleanup() async {
        await TestPodman.cleanup(prefix: prefix)
        try? FileManager.default.removeItem(atPath: root)
    }
}

actor Counter {
    // Start high enough that test subnets stay clear of anything a developer made by hand.
    private var value = Int(getpid() % 50) * 4 + 20
    func next() -> Int {
        value += 1
        return value % 250
    }
}

extension Duration {
    /// `n` minutes: the bound of a wait that ends as soon as its condition holds.
    package static func minutes(_ n: Int) -> Duration { .seconds(n * 60) }
}
