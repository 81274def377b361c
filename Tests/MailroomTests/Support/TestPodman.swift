import Foundation
import Mailroom

/// Real podman for tests (see shared/notes/podman-here.md): a containers.conf that works on
/// these VMs, locally built busybox images standing in for Mailu's, and real Caddy in an image.
enum TestPodman {
    static let busyboxImage = "localhost/mailroom-test/busybox:1"
    static let caddyImage = "localhost/mailroom-test/caddy:2"
    static let standInRegistry = "localhost/mailu-standin"

    /// Written once per test process; every podman the tests or Mailroom start reads it.
    static let containersConf: String = {
        let directory = NSTemporaryDirectory() + "mailroom-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/containers.conf"
        let text = """
            [containers]
            default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
            log_driver = "k8s-file"

            [engine]
            cgroup_manager = "cgroupfs"
            events_logger = "file"
            runtime = "runc"

            """
        try? text.write(toFile: path, atomically: true, encoding: .utf8)
        setenv("CONTAINERS_CONF", path, 1)
        return path
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
        if built == nil { built = Task { try await Self.buildImages() } }
        try await built!.value
    }

    static let standIns = [
        "unbound:2.0", "nginx:2.0", "redis:alpine", "admin:2.0", "dovecot:2.0", "postfix:2.0", "oletools:2.0",
        "clamav:2.0", "radicale:2.0", "fetchmail:2.0", "webmail:2.0", "rspamd:2.0",
    ]

    private static func buildImages() async throws {
        let podman = try TestPodman.podman()
        let caddyExists = try await podman.runner.run([podman.executable, "image", "exists", TestPodman.caddyImage]).succeeded
        let standInsExist = try await podman.runner.run([podman.executable, "image", "exists", "\(TestPodman.standInRegistry)/rspamd:2.0"]).succeeded
        if caddyExists && standInsExist { return }
        let root = NSTemporaryDirectory() + "mailroom-images-\(getpid())"
        let fm = FileManager.default
        try? fm.removeItem(atPath: root)
        let bin = root + "/busybox/bin"
        try fm.createDirectory(atPath: bin, withIntermediateDirectories: true)
        guard let busybox = ProcessRunner.which("busybox") else { throw TestSetupError("busybox-static is not installed") }
        try fm.copyItem(atPath: busybox, toPath: bin + "/busybox")
        for applet in ["sh", "sleep", "httpd", "ls", "cat", "env", "true", "false", "echo", "mkdir", "wget", "kill", "test", "grep"] {
            try fm.createSymbolicLink(atPath: "\(bin)/\(applet)", withDestinationPath: "busybox")
        }
        for directory in ["tmp", "etc", "www/mail", "data", "config"] {
            try fm.createDirectory(atPath: "\(root)/busybox/\(directory)", withIntermediateDirectories: true)
        }
        try "root:x:0:0:root:/root:/bin/sh\n".write(toFile: "\(root)/busybox/etc/passwd", atomically: true, encoding: .utf8)
        try await tarAndImport(directory: root + "/busybox", tar: root + "/busybox.tar", image: TestPodman.busyboxImage, podman: podman)
        for name in standIns {
            try await podman.execute(["tag", TestPodman.busyboxImage, "\(TestPodman.standInRegistry)/\(name)"])
        }

        // Caddy: the Debian binary and the shared libraries it links, on top of busybox.
        guard let caddy = ProcessRunner.which("caddy") else { throw TestSetupError("caddy is not installed") }
        let caddyRoot = root + "/caddy"
        try fm.copyItem(atPath: root + "/busybox", toPath: caddyRoot)
        try fm.createDirectory(atPath: caddyRoot + "/usr/bin", withIntermediateDirectories: true)
        try fm.copyItem(atPath: caddy, toPath: caddyRoot + "/usr/bin/caddy")
        let ldd = try await ProcessRunner().run(["/usr/bin/ldd", caddy])
        for line in ldd.stdoutText.split(separator: "\n") {
            guard let path = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first(where: { $0.hasPrefix("/") }).map(String.init) else { continue }
            let target = caddyRoot + path
            try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if !fm.fileExists(atPath: target) { try fm.copyItem(atPath: URL(fileURLWithPath: path).resolvingSymlinksInPath().path, toPath: target) }
        }
        try fm.createDirectory(atPath: caddyRoot + "/etc/caddy", withIntermediateDirectories: true)
        try await tarAndImport(directory: caddyRoot, tar: root + "/caddy.tar", image: TestPodman.caddyImage, podman: podman)
        try? fm.removeItem(atPath: root)
    }

    private static func tarAndImport(directory: String, tar: String, image: String, podman: PodmanCLI) async throws {
        let tarResult = try await ProcessRunner().run(["/bin/tar", "-C", directory, "-cf", tar, "."])
        guard tarResult.succeeded else { throw TestSetupError("tar failed: \(tarResult.stderrText)") }
        let imported = try await ProcessRunner().run([podman.executable, "import", "-q", tar, image])
        guard imported.succeeded else { throw TestSetupError("podman import failed: \(imported.stderrText)") }
    }
}

