import Foundation
import Mailroom

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

    /// A new sandbox; writes a secrets file with mode 0600.
    static func make(_ label: String = "t") async throws -> TestDeployment {
        let index = await counter.next()
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

    /// The stand-in spec: the guide's deployment, with local images, a test subnet,
    /// loopback ports, k8s-file logs and `--init` so stops are quick.
    func standInSpec(extra: String = "", containers: String = "", domains: [String] = ["example.com"],
                     frontCommand: String = "[sleep, \"100000\"]") -> String {
        var overrides = ""
        let names = [
            "mailu-resolver", "mailu-front", "mailu-redis", "mailu-admin", "mailu-imap", "mailu-smtp", "mailu-oletools",
            "mailu-antivirus", "mailu-webdav", "mailu-fetchmail", "mailu-webmail", "mailu-antispam",
        ]
        for name in names {
            overrides += "  \(name):\n"
            overrides += "    command: \(name == "mailu-front" ? frontCommand : "[sleep, \"100000\"]")\n"
            overrides += "    extra_args: [--init]\n"
            overrides += "    log_driver: k8s-file\n"
            overrides += "    log_opts: []\n"
            if name == "mailu-redis" { overrides += "    image: \(TestPodman.standInRegistry)/redis:alpine\n" }
            if name == "mailu-front" {
                overrides += "    ports: [\"127.0.0.1:\(portBase):25/tcp\", \"127.0.0.1:\(portBase + 1):993/tcp\"]\n"
            }
        }
        overrides += """
              caddy2:
                image: \(TestPodman.caddyImage)
                command: [caddy, run, --config, /etc/caddy/Caddyfile, --adapter, caddyfile]
                extra_args: [--init]
                ports: ["127.0.0.1:\(portBase + 2):443/tcp"]

            """
        return """
            prefix: \(prefix)
            network:
              name: \(networkName)
              subnet: \(subnet)
              gateway: 10.213.\(index).1
              subnet6: fd42:\(index)::/64
              gateway6: fd42:\(index)::1
              dns: false
            domains: [\(domains.joined(separator: ", "))]
            mailu:
              root: \(root)/mailu
              filter_dir: \(root)/filter
              hostnames: [mail.example.com]
              public_ipv4: 127.0.0.1
              website: https://mail.example.com
              image_registry: \(TestPodman.standInRegistry)
            \(extra)
            caddy:
              email: letsencrypt@example.com
              root: \(root)/caddy2
              tls: internal
            containers:
            \(overrides)\(containers)
            """
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
