import Foundation
import MailroomHost

/// Real podman for tests and benchmarks (see shared/notes/podman-here.md): a containers.conf
/// that works on these VMs, locally built busybox images standing in for Mailu's, and real
/// Caddy in an image. The images and the conf come from `StandInImages`.
package enum TestPodman {
    package static let busyboxImage = StandInImages.busyboxImage
    package static let caddyImage = StandInImages.caddyImage
    package static let standInRegistry = StandInImages.registry

    /// Written once per process; every podman this process or Mailroom starts reads it.
    package static let containersConf: String = {
        (try? StandInImages.useContainersConf(in: NSTemporaryDirectory() + "mailroom-tests")) ?? ""
    }()

    /// podman on PATH, reading ``containersConf``; `runner` may record the calls (``CallRecorder``).
    package static func podman(runner: ProcessRunner = ProcessRunner()) throws -> PodmanCLI {
        _ = containersConf
        guard let podman = PodmanCLI.locate(runner: runner) else {
            throw TestSetupError("podman is not installed: run .ci/run, or apt-get install podman runc catatonit")
        }
        return podman
    }

    /// Builds the images once per process (podman import of a busybox rootfs; caddy with its libraries).
    package static func ensureImages() async throws {
        try await ImageBuilder.shared.build()
    }

    /// Runs podman and returns stdout; throws with stderr on failure.
    @discardableResult
    package static func run(_ arguments: [String]) async throws -> String {
        try await podman().execute(arguments).stdoutText
    }

    /// Removes containers and networks whose names start with `prefix` (and nothing else).
    package static func cleanup(prefix: String) async {
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

    /// `podman system service` on a socket of its own, and Mailroom's client for it once it
    /// answers (`MAILROOM_PODMAN_SOCKET` is set to it, process-wide: unset it when done, and
    /// start children through ``MailroomBinary/isolatedEnvironment``). Nil when it did not
    /// answer within `timeout`, a bound for a service that will never come up, not a speed.
    package static func startService(socket path: String, cli: PodmanCLI? = nil, timeout: Duration = .minutes(3))
        async throws
        -> (service: BackgroundProcess, socket: PodmanSocket)?
    {
        let cli = try cli ?? podman()
        let service = try ProcessRunner().start([cli.executable, "system", "service", "--time=0", "unix://" + path])
        let deadline = ContinuousClock.now + timeout
        setenv("MAILROOM_PODMAN_SOCKET", path, 1)
        while ContinuousClock.now < deadline {
            if let socket = await PodmanSocket.locate(cli: cli) { return (service, socket) }
            try await Task.sleep(for: .milliseconds(100))
        }
        service.stop()
        unsetenv("MAILROOM_PODMAN_SOCKET")
        return nil
    }
}

/// A test or benchmark could not set up what it needs (not a verdict on Mailroom).
package struct TestSetupError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
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
