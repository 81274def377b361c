import Foundation
@testable import MailroomHost
@testable import MailroomTestSupport

/// Real podman for tests (see shared/notes/podman-here.md): a containers.conf that works on
/// these VMs, locally built busybox images standing in for Mailu's, and real Caddy in an image.
/// The images and the conf come from `StandInImages`, which the benchmark shares.
enum TestPodman {
    static let busyboxImage = StandInImages.busyboxImage
    static let caddyImage = StandInImages.caddyImage
    static let standInRegistry = StandInImages.registry

    /// Written once per test process; every podman the tests or Mailroom start reads it.
    static let containersConf: String = {
        (try? StandInImages.useContainersConf(in: NSTemporaryDirectory() + "mailroom-tests")) ?? ""
    }()

    static func podman(runner: ProcessRunner = ProcessRunner()) throws -> PodmanCLI {
        _ = containersConf
        guard let podman = PodmanCLI.locate(runner: runner) else {
            throw TestSetupError("podman is not installed: run .ci/run, or apt-get install podman runc catatonit")
        }
        return podman
    }

    /// Builds the images once per process (podman import of a busybox rootfs; caddy with its libraries).
    static func ensureImages() async throws {
        try await ImageBuilder.shared.build()
    }

    /// Runs podman and returns stdout; throws with stderr on failure.
    @discardableResult
    static func run(_ arguments: [String]) async throws -> String {
        try await podman().execute(arguments).stdoutText
    }

    /// Removes containers and networks whose names start with `prefix` (and nothing else).
    static func cleanup(prefix: String) async {
        guard let podman = try? podman() else { return }
        if let listed = try? await podman.listContainers() {
            let names = listed.map(\.name).filter { $0.hasPrefix(prefix) }
            if !names.isEmpty { _ = try? await podman.runner.run([podman.executable, "rm", "-f", "-t", "0"] + names) }
        }
        if let networks = try? await podman.listNetworks() {
            for network in networks where network.name.hasPrefix(prefix) {
                _ = try? await podman.runner.run([podman.executable, "network", "rm", "-f", network.name])
            }
        }
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Builds test images once, even when tests run in parallel.
actor ImageBuilder {
    static let shared = ImageBuilder()
    private var built: Task<Void, any Error>?

    func build() async throws {
        if built == nil { built = Task { try await StandInImages.ensureBuilt(podman: TestPodman.podman()) } }
        try await built!.value
    }
}
