import Foundation
@testable import MailroomSupport
@testable import MailroomTestSupport

/// A sandbox for one test: its own prefix, subnet, ports and directories, and a spec of the
/// guide's 13 containers with busybox stand-ins. `cleanup()` removes exactly what it created.
struct TestDeployment {
    let prefix: String
    let index: Int
    let root: String

    var specDirectory: String { root + "/spec" }
    var host: HostPaths {
        HostPaths(stateDirectory: root + "/state", unitsDirectory: root + "/units", secretsFile: root + "/secrets.env")
    }
    var networkName: String { prefix + "net" }
    var subnet: String { "10.213.\(index).0/24" }
    var portBase: Int { 20000 + index * 20 }

    private static let counter = Counter()

    /// A new sandbox; writes a secrets file with mode 0600. The index (subnet, ports) skips
    /// subnets another process (another test run on this machine) already uses.
    static func make(_ label: String = "t") async throws -> TestDeployment {
        let used = Set(((try? await TestPodman.podman().listNetworks()) ?? []).flatMap { $0.subnets.map(\.subnet) })
        var index = await counter.next()
        for _ in 0..<250 where used.contains("10.213.\(index).0/24") { index = await counter.next() }
        let prefix = "mrt\(getpid() % 10000)-\(index)-"
        let root = NSTemporaryDirectory() + "mailroom-test-\(getpid())-\(index)"
        try? FileManager.default.removeItem(atPath: root)
        for directory in ["spec", "state", "units"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(directory)", withIntermediateDirectories: true)
        }
        let deployment = TestDeployment(prefix: prefix, index: index, root: root)
        try "SECRET_KEY=test-secret-\(index)\n".write(toFile: deployment.host.secretsFile, atomically: true, encoding: .utf8)
        chmod(deployment.host.secretsFile, 0o600)
        return deployment
    }

    /// The stand-in spec (`StandInImages.spec`): the guide's deployment, with local images,
    /// a test subnet, loopback ports, k8s-file logs and `--init` so stops are quick.
    func standInSpec(mailu: [String] = [], overrides: [String: [String: String]] = [:], extra: String = "", containers: String = "",
                     domains: [String] = ["example.com"]) -> String {
        StandInImages.spec(prefix: prefix, index: index, root: root, portBase: portBase, mailu: mailu, overrides: overrides,
                           containers: containers, extra: extra, domains: domains)
    }

    /// Runs `body` with a new sandbox and removes what it created afterwards, also on failure.
    static func with(_ body: (TestDeployment) async throws -> Void) async throws {
        let deployment = try await make()
        do { try await body(deployment) } catch {
            await deployment.cleanup()
            throw error
        }
        await deployment.cleanup()
    }

    func writeSpec(_ text: String) throws {
        try text.write(toFile: specDirectory + "/mailroom.yaml", atomically: true, encoding: .utf8)
    }

    func cleanup() async {
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
