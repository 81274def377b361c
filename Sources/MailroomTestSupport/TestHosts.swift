import Foundation
import MailroomHost
import MailroomSupport

/// Two or more simulated hosts on this machine: each a network namespace joined to the others
/// by a bridge (the private network), with its own podman storage, run root, network
/// configuration and temporary directory, so each has its own containers and networks. All
/// traffic stays inside the namespaces. `cleanup()` removes what it made.
package struct TestHosts: Sendable {
    package struct Host: Sendable {
        package var name: String
        package var namespace: String
        /// On the private network.
        package var address: String
        /// Its IPv6 address on the private network.
        package var address6: String
        package var root: String

        package var containersConf: String { root + "/containers.conf" }
        package var storageConf: String { root + "/storage.conf" }
        package var paths: HostPaths {
            HostPaths(
                stateDirectory: root + "/state", unitsDirectory: root + "/units", secretsFile: root + "/secrets.env",
                hostName: name)
        }

        /// Holds the host's mount namespace, in which its own directory is mounted on
        /// /var/lib/cni (CNI's address reservations, per network name, would be shared otherwise).
        var mountNamespace: String { "/run/\(namespace)/mnt" }

        /// `nsenter --net=… --mount=… env CONTAINERS_CONF=… CONTAINERS_STORAGE_CONF=…`: the prefix
        /// that runs a command on this host. Not `ip netns exec`: it mounts a new /sys, without
        /// the cgroup mounts runc needs.
        var prefix: [String] {
            ["/usr/bin/nsenter", "--net=/run/netns/\(namespace)", "--mount=\(mountNamespace)"]
                + MailroomBinary.isolatedEnvironment
        }

        /// Its podman configuration; and a podman socket path that does not exist, so Mailroom
        /// talks to this host's podman through the CLI, never to a service this machine may run.
        var configuration: [String] {
            [
                "CONTAINERS_CONF=\(containersConf)", "CONTAINERS_STORAGE_CONF=\(storageConf)",
                "MAILROOM_PODMAN_SOCKET=\(root)/run/no-podman.sock",
            ]
        }

        /// Runs `arguments` on this host.
        package func run(_ arguments: [String]) async throws -> ProcessResult {
            try await ProcessRunner().run(prefix + configuration + arguments)
        }

        /// Runs podman on this host; throws with its stderr on failure.
        @discardableResult
        package func podman(_ arguments: [String]) async throws -> String {
            let result = try await run(["/usr/bin/podman"] + arguments)
            guard result.succeeded else {
                throw TestSetupError("podman \(arguments.joined(separator: " ")) on \(name): \(result.stderrText)")
            }
            return result.stdoutText
        }

        /// `mailroom agent --config` on this host, its stderr in `log`.
        package func startAgent(config: String, log: String) throws -> ChildAgent {
            try ChildAgent.start(config: config, log: log, launcher: prefix + configuration)
        }

        /// Gives this host its own copy of each directory (mounted over it in the host's mount
        /// namespace), as a real host has its own disk: what the host writes there, the test
        /// reads at ``ownPath(_:)``.
        package func mountOwn(_ directories: [String]) async throws {
            for directory in directories {
                try AtomicFile.makeDirectory(directory)
                try AtomicFile.makeDirectory(ownPath(directory))
                try await TestHosts.run([
                    "/usr/bin/nsenter", "--mount=\(mountNamespace)", "/usr/bin/mount", "--bind", ownPath(directory),
                    directory,
                ])
            }
        }

        /// Where this host's own copy of `path` (under a ``mountOwn(_:)`` directory) is seen from outside.
        package func ownPath(_ path: String) -> String { root + "/own" + path }

        /// The built `mailroom` on this host, with its state, units and secrets paths.
        package func mailroom(_ arguments: [String]) async throws -> ProcessResult {
            let p = paths
            return try await run(
                [try MailroomBinary.path] + arguments + [
                    "--state-dir", p.stateDirectory, "--units-dir", p.unitsDirectory, "--secrets-file", p.secretsFile,
                    "--host", name,
                ])
        }
    }

    package var hosts: [Host]
    package var bridge: String
    package var root: String

    /// Runs `body` with new hosts under `root` and removes them afterwards, also on failure.
    package static func with(
        _ names: [String], index: Int, root: String, _ body: (TestHosts) async throws -> Void
    ) async throws {
        let hosts = try await make(names, index: index, root: root)
        do { try await body(hosts) } catch {
            await hosts.cleanup()
            throw error
        }
        await hosts.cleanup()
    }

    /// Makes `names.count` hosts at `10.254.<index>.1`, `.2`, … and `fd42:254:<index>::1`, `::2`,
    /// …; copies the stand-in images into each one's storage.
    package static func make(_ names: [String], index: Int, root: String) async throws -> TestHosts {
        let tag = "\(getpid() % 10000)x\(index)"
        var made = TestHosts(hosts: [], bridge: "mrbr\(tag)", root: root)
        do {
            try await ip(["link", "add", made.bridge, "type", "bridge"])
            try await ip(["link", "set", made.bridge, "up"])
            try await TestPodman.ensureImages()
            let archive = root + "/images.tar"
            try AtomicFile.makeDirectory(root)
            try await TestPodman.run(
                ["save", "-q", "-m", "-o", archive, StandInImages.busyboxImage, StandInImages.caddyImage]
                    + StandInImages.standIns.map { "\(StandInImages.registry)/\($0)" })
            for (number, name) in names.enumerated() {
                let host = Host(
                    name: name, namespace: "mrh\(tag)-\(name)", address: "10.254.\(index).\(number + 1)",
                    address6: "fd42:254:\(index)::\(number + 1)", root: "\(root)/\(name)")
                made.hosts.append(host)
                try await setUp(host, bridge: made.bridge, veth: "mrv\(tag)\(number)")
                try await host.podman(["load", "-q", "-i", archive])
            }
        } catch {
            await made.cleanup()
            throw error
        }
        return made
    }

    private static func setUp(_ host: Host, bridge: String, veth: String) async throws {
        for directory in ["storage", "run", "networks", "tmp", "state", "units", "cni"] {
            try AtomicFile.makeDirectory("\(host.root)/\(directory)")
        }
        try AtomicFile.write(
            """
            [containers]
            default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
            log_driver = "k8s-file"

            [network]
            network_config_dir = "\(host.root)/networks"

            [engine]
            cgroup_manager = "cgroupfs"
            events_logger = "file"
            runtime = "runc"
            tmp_dir = "\(host.root)/tmp"

            """, to: host.containersConf, mode: 0o644)
        try AtomicFile.write(
            """
            [storage]
            driver = "vfs"
            graphroot = "\(host.root)/storage"
            runroot = "\(host.root)/run"

            """, to: host.storageConf, mode: 0o644)
        try AtomicFile.write("SECRET_KEY=test-secret\n", to: host.paths.secretsFile, mode: 0o600)
        try await ip(["netns", "add", host.namespace])
        // A mount namespace kept in a file needs a private mount to live on.
        let holder = "/run/\(host.namespace)"
        try AtomicFile.makeDirectory(holder)
        try AtomicFile.write("", to: host.mountNamespace, mode: 0o644)
        for command in [
            ["/usr/bin/mount", "--bind", holder, holder], ["/usr/bin/mount", "--make-private", holder],
            ["/usr/bin/unshare", "--mount=\(host.mountNamespace)", "--propagation", "private", "/usr/bin/true"],
            [
                "/usr/bin/nsenter", "--mount=\(host.mountNamespace)", "/usr/bin/mount", "--bind", "\(host.root)/cni",
                "/var/lib/cni",
            ],
        ] {
            try await run(command)
        }
        try await ip(["link", "add", veth, "type", "veth", "peer", "name", "\(veth)p"])
        try await ip(["link", "set", "\(veth)p", "master", bridge, "up"])
        try await ip(["link", "set", veth, "netns", host.namespace])
        for arguments in [
            ["link", "set", "lo", "up"], ["link", "set", veth, "name", "eth0"],
            ["addr", "add", "\(host.address)/24", "dev", "eth0"],
            // nodad: usable at once, not after duplicate address detection's second or so.
            ["addr", "add", "\(host.address6)/64", "dev", "eth0", "nodad"], ["link", "set", "eth0", "up"],
        ] {
            try await ip(["-n", host.namespace] + arguments)
        }
    }

    private static func ip(_ arguments: [String]) async throws {
        try await run(["/usr/sbin/ip"] + arguments)
    }

    static func run(_ arguments: [String]) async throws {
        let result = try await ProcessRunner().run(arguments)
        guard result.succeeded else {
            throw TestSetupError("\(arguments.joined(separator: " ")): \(result.stderrText)")
        }
    }

    /// Removes every container and network on each host, the namespaces, the bridge and the files.
    package func cleanup() async {
        for host in hosts {
            _ = try? await host.run(["/usr/bin/podman", "rm", "--all", "--force", "--time", "0"])
            _ = try? await host.run(["/usr/bin/podman", "network", "prune", "--force"])
            _ = try? await ProcessRunner().run(["/usr/sbin/ip", "netns", "delete", host.namespace])
            _ = try? await ProcessRunner().run(["/usr/bin/umount", host.mountNamespace])
            _ = try? await ProcessRunner().run(["/usr/bin/umount", "/run/\(host.namespace)"])
            try? FileManager.default.removeItem(atPath: "/run/\(host.namespace)")
        }
        _ = try? await ProcessRunner().run(["/usr/sbin/ip", "link", "delete", bridge])
        try? FileManager.default.removeItem(atPath: root)
    }
}
