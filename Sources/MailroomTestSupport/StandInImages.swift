import Crypto
import Foundation
import MailroomHost
import MailroomSupport

/// For tests and benchmarks only: local images that stand in for Mailu's (no registry is
/// reachable on the CI machines), a `containers.conf` that works there, and a spec of the
/// guide's 13 containers using them. Nothing in `apply` uses this. See
/// shared/notes/podman-here.md for why each setting is what it is.
public enum StandInImages {
    public static let busyboxImage = "localhost/mailroom-test/busybox:1"
    /// Real Caddy (the Debian binary and its libraries on top of busybox).
    public static let caddyImage = "localhost/mailroom-test/caddy:2"
    /// `image_registry` of stand-in specs: `localhost/mailu-standin/<name>:2.0` are busybox;
    /// admin also has the fake `flask` (``adminImage``).
    public static let registry = "localhost/mailu-standin"
    /// busybox plus `mailu-admin-fake` as `/usr/bin/flask`: `podman exec <admin> flask mailu
    /// config-import ...` works on a store in the container's /data (see Sources/mailu-admin-fake).
    public static let adminImage = "\(registry)/admin:2.0"
    /// The label that tells this admin image from a plain busybox one (and from one with an
    /// older fake): `mailu-admin-fake-v1`; `mailroom.fake.sha256` holds the binary's digest.
    public static let fakeLabel = "mailroom.fake"
    public static let fakeVersion = "mailu-admin-fake-v1"
    public static let standIns = [
        "unbound:2.0", "nginx:2.0", "redis:alpine", "admin:2.0", "dovecot:2.0", "postfix:2.0", "oletools:2.0",
        "clamav:2.0", "radicale:2.0", "fetchmail:2.0", "webmail:2.0", "rspamd:2.0",
    ]

    /// Writes a `containers.conf` for these VMs (runc, cgroupfs, k8s-file logs, ulimits they
    /// allow) under `directory` and exports `CONTAINERS_CONF`, so every podman this process
    /// starts reads it. Returns its path.
    @discardableResult
    public static func useContainersConf(in directory: String) throws -> String {
        try AtomicFile.makeDirectory(directory)
        let path = directory.trimmingTrailingSlash + "/containers.conf"
        let text = """
            [containers]
            default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
            log_driver = "k8s-file"

            [engine]
            cgroup_manager = "cgroupfs"
            events_logger = "file"
            runtime = "runc"

            """
        try AtomicFile.write(text, to: path, mode: 0o644)
        setenv("CONTAINERS_CONF", path, 1)
        return path
    }

    /// Builds the images unless they exist: `podman import` of a busybox rootfs, tagged once
    /// per stand-in, admin with the fake `flask` (rebuilt when its labels do not match the built
    /// fake, e.g. a plain busybox admin from before), and Caddy with the shared libraries it links.
    public static func ensureBuilt(podman: PodmanCLI) async throws {
        let runner = ProcessRunner()
        let caddyExists = try await runner.run([podman.executable, "image", "exists", caddyImage]).succeeded
        let standInsExist = try await runner.run([podman.executable, "image", "exists", "\(registry)/rspamd:2.0"])
            .succeeded
        let fake = try MailroomBinary.builtExecutable(named: "mailu-admin-fake")
        let fakeDigest = hex(SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: fake))))
        let labels = try await runner.run([
            podman.executable, "image", "inspect", "--format",
            "{{index .Labels \"\(fakeLabel)\"}} {{index .Labels \"\(fakeLabel).sha256\"}}", adminImage,
        ])
        let adminCurrent =
            labels.succeeded
            && labels.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "\(fakeVersion) \(fakeDigest)"
        if caddyExists && standInsExist && adminCurrent { return }
        let root = NSTemporaryDirectory() + "mailroom-images-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fm = FileManager.default
        defer { try? fm.removeItem(atPath: root) }
        let bin = root + "/busybox/bin"
        try fm.createDirectory(atPath: bin, withIntermediateDirectories: true)
        guard let busybox = ProcessRunner.which("busybox") else {
            throw StandInError("busybox-static is not installed")
        }
        try fm.copyItem(atPath: busybox, toPath: bin + "/busybox")
        for applet in [
            "sh", "sleep", "httpd", "ls", "cat", "env", "true", "false", "echo", "mkdir", "wget", "kill", "test",
            "grep", "touch", "rm",
        ] {
            try fm.createSymbolicLink(atPath: "\(bin)/\(applet)", withDestinationPath: "busybox")
        }
        for directory in ["tmp", "etc", "www/mail", "data", "config"] {
            try fm.createDirectory(atPath: "\(root)/busybox/\(directory)", withIntermediateDirectories: true)
        }
        try "root:x:0:0:root:/root:/bin/sh\n".write(
            toFile: "\(root)/busybox/etc/passwd", atomically: true, encoding: .utf8)
        if !adminCurrent {
            let adminRoot = root + "/admin"
            try fm.copyItem(atPath: root + "/busybox", toPath: adminRoot)
            try fm.createDirectory(atPath: adminRoot + "/usr/bin", withIntermediateDirectories: true)
            try fm.copyItem(atPath: fake, toPath: adminRoot + "/usr/bin/flask")
            try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: adminRoot + "/usr/bin/flask")
            try await tarAndImport(
                directory: adminRoot, tar: root + "/admin.tar", image: adminImage, podman: podman,
                labels: [fakeLabel: fakeVersion, fakeLabel + ".sha256": fakeDigest])
        }
        if caddyExists && standInsExist { return }
        try await tarAndImport(
            directory: root + "/busybox", tar: root + "/busybox.tar", image: busyboxImage, podman: podman)
        for name in standIns where "\(registry)/\(name)" != adminImage {
            try await podman.execute(["tag", busyboxImage, "\(registry)/\(name)"])
        }

        guard let caddy = ProcessRunner.which("caddy") else { throw StandInError("caddy is not installed") }
        let caddyRoot = root + "/caddy"
        try fm.copyItem(atPath: root + "/busybox", toPath: caddyRoot)
        try fm.createDirectory(atPath: caddyRoot + "/usr/bin", withIntermediateDirectories: true)
        try fm.copyItem(atPath: caddy, toPath: caddyRoot + "/usr/bin/caddy")
        let ldd = try await runner.run(["/usr/bin/ldd", caddy])
        for line in ldd.stdoutText.split(separator: "\n") {
            guard
                let path = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first(where: { $0.hasPrefix("/") })
                    .map(String.init)
            else { continue }
            let target = caddyRoot + path
            try fm.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if !fm.fileExists(atPath: target) {
                try fm.copyItem(atPath: URL(fileURLWithPath: path).resolvingSymlinksInPath().path, toPath: target)
            }
        }
        try fm.createDirectory(atPath: caddyRoot + "/etc/caddy", withIntermediateDirectories: true)
        try await tarAndImport(directory: caddyRoot, tar: root + "/caddy.tar", image: caddyImage, podman: podman)
    }

    private static func tarAndImport(
        directory: String, tar: String, image: String, podman: PodmanCLI, labels: [String: String] = [:]
    ) async throws {
        let tarResult = try await ProcessRunner().run(["/bin/tar", "-C", directory, "-cf", tar, "."])
        guard tarResult.succeeded else { throw StandInError("tar failed: \(tarResult.stderrText)") }
        let changes = labels.sorted { $0.key < $1.key }.flatMap { ["--change", "LABEL \($0.key)=\($0.value)"] }
        let imported = try await ProcessRunner().run([podman.executable, "import", "-q"] + changes + [tar, image])
        guard imported.succeeded else { throw StandInError("podman import failed: \(imported.stderrText)") }
    }

    /// A spec of the guide's 13 containers with stand-ins: `prefix` on every name, its own
    /// network (`<prefix>net`, `10.213.<index>.0/24`, DNS off), ports on 127.0.0.1 from
    /// `portBase`, k8s-file logs, `--init` so stops are quick, data under `root`.
    /// - Parameters:
    ///   - mailu: lines added under `mailu:`, e.g. `timezone: Etc/UTC`.
    ///   - overrides: per container (profile name, without prefix), keys to set or replace,
    ///     each with an inline YAML value: `["mailu-webdav": ["command": "[sh, -c, \"exit 3\"]"]]`.
    ///   - containers: YAML appended to `containers:` (new containers), indented by two spaces.
    ///   - extra: top-level YAML added before `caddy:`.
    public static func spec(
        prefix: String, index: Int, root: String, portBase: Int, mailu: [String] = [],
        overrides: [String: [String: String]] = [:], containers: String = "", extra: String = "",
        domains: [String] = ["example.com"]
    ) -> String {
        var lines = [
            "prefix: \(prefix)",
            "network:",
            "  name: \(prefix)net",
            "  subnet: 10.213.\(index).0/24",
            "  gateway: 10.213.\(index).1",
            "  subnet6: fd42:\(index)::/64",
            "  gateway6: fd42:\(index)::1",
            "  dns: false",
            "domains: [\(domains.joined(separator: ", "))]",
            "mailu:",
            "  root: \(root)/mailu",
            "  filter_dir: \(root)/filter",
            "  hostnames: [mail.example.com]",
            "  public_ipv4: 127.0.0.1",
            "  website: https://mail.example.com",
            "  image_registry: \(registry)",
        ]
        lines += mailu.map { "  " + $0 }
        if !extra.isEmpty { lines.append(extra) }
        lines += [
            "caddy:", "  email: letsencrypt@example.com", "  root: \(root)/caddy2", "  tls: internal", "containers:",
        ]
        let standIns = [
            "mailu-resolver", "mailu-front", "mailu-redis", "mailu-admin", "mailu-imap", "mailu-smtp", "mailu-oletools",
            "mailu-antivirus", "mailu-webdav", "mailu-fetchmail", "mailu-webmail", "mailu-antispam",
        ]
        var settings: [(String, [(String, String)])] = standIns.map { name in
            var keys = [
                ("command", "[sleep, \"100000\"]"), ("extra_args", "[--init]"), ("log_driver", "k8s-file"),
                ("log_opts", "[]"),
            ]
            if name == "mailu-redis" { keys.append(("image", "\(registry)/redis:alpine")) }
            if name == "mailu-front" {
                keys.append(("ports", "[\"127.0.0.1:\(portBase):25/tcp\", \"127.0.0.1:\(portBase + 1):993/tcp\"]"))
            }
            return (name, keys)
        }
        settings.append(
            (
                "caddy2",
                [
                    ("image", caddyImage),
                    ("command", "[caddy, run, --config, /etc/caddy/Caddyfile, --adapter, caddyfile]"),
                    ("extra_args", "[--init]"), ("ports", "[\"127.0.0.1:\(portBase + 2):443/tcp\"]"),
                ]
            ))
        for (name, defaults) in settings {
            var keys = defaults
            for (key, value) in (overrides[name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                if let index = keys.firstIndex(where: { $0.0 == key }) {
                    keys[index].1 = value
                } else {
                    keys.append((key, value))
                }
            }
            lines.append("  \(name):")
            lines += keys.map { "    \($0.0): \($0.1)" }
        }
        return (lines + [containers]).joined(separator: "\n") + "\n"
    }
}

public struct StandInError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
