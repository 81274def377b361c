import Foundation
import Testing

@testable import MailroomAgent
@testable import MailroomHost
@testable import MailroomMailu
@testable import MailroomSupport
@testable import MailroomTestSupport

/// The fixture files of `mailroom doctor`: host roots (`proc/meminfo`, `sys/fs/selinux/enforce`)
/// and firewall listings, for the facts that cannot be changed on this machine.
enum DoctorFixtures {
    static let directory = Fixtures.repositoryRoot + "/Tests/MailroomTests/Fixtures/doctor"

    static func root(_ name: String) -> String { directory + "/" + name }

    static func text(_ name: String) throws -> String {
        try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
    }

    /// The seed guide's requirements, as `doctor` computes them.
    static func seedGuide(antivirus: Bool = true) throws -> HostRequirements {
        var compiled = try Fixtures.compile(directory: Fixtures.seedGuide)
        var settings = try #require(compiled.spec.settings as? MailuSettings)
        settings.components.antivirus = antivirus
        compiled.spec.settings = settings
        return settings.hostRequirements(compiled.explicit)
    }
}

extension PureTests {
    @Suite("Doctor checks over fixture facts")
    struct DoctorCheckTests {
        func verdict(_ results: [LiveCheckResult], _ name: String) -> LiveCheckResult.Verdict? {
            results.first { $0.name == name }?.verdict
        }

        @Test("the seed guide needs 3 GiB (2 + 1 for the antivirus), 5 GiB with swap, and publishes its ports")
        func requirements() throws {
            let needs = try DoctorFixtures.seedGuide()
            #expect(needs.memoryBytes == 3 << 30)
            #expect(needs.memoryPlusSwapBytes == 5 << 30)
            #expect(needs.website == "mail.example.com")
            #expect(needs.dualStack)
            let ports = Set(needs.ports.map { "\($0.port)/\($0.proto) \($0.container)" })
            #expect(
                ports == [
                    "80/tcp caddy2", "443/tcp caddy2", "443/udp caddy2", "25/tcp mailu-front", "110/tcp mailu-front",
                    "143/tcp mailu-front", "465/tcp mailu-front", "587/tcp mailu-front", "993/tcp mailu-front",
                    "995/tcp mailu-front",
                ])
            #expect(needs.ports.first { $0.port == 25 }?.address == "203.0.113.10")
            #expect(needs.ports.first { $0.port == 80 }?.address == nil)
            #expect(try DoctorFixtures.seedGuide(antivirus: false).memoryBytes == 2 << 30)
        }

        @Test("publish values: address, port, protocol; ranges and random host ports give nothing")
        func publishValues() {
            let p = HostRequirements.Port(publish: "203.0.113.10:25:25/tcp", container: "c")
            #expect(p == HostRequirements.Port(port: 25, address: "203.0.113.10", container: "c"))
            #expect(HostRequirements.Port(publish: "443:443/udp", container: "c")?.proto == "udp")
            #expect(HostRequirements.Port(publish: "[::1]:8080:80", container: "c")?.address == "::1")
            #expect(HostRequirements.Port(publish: "0.0.0.0:80:80", container: "c")?.address == nil)
            #expect(HostRequirements.Port(publish: "80", container: "c") == nil)
            #expect(HostRequirements.Port(publish: "8000-8010:80", container: "c") == nil)
        }

        @Test("memory: a 2 GiB machine is short for Mailu with the antivirus, fine without; swap below 5 GiB warns")
        func memory() throws {
            let low = HostFacts.read(root: DoctorFixtures.root("low-memory"))
            #expect(low.memoryTotal == 1_918_056 * 1024)
            #expect(low.swapTotal == 1_048_572 * 1024)
            let withAntivirus = HostChecks.memory(low, try DoctorFixtures.seedGuide())
            #expect(verdict(withAntivirus, "memory") == .wrong)
            #expect(withAntivirus[0].fix?.contains("antivirus: false") == true)
            #expect(verdict(withAntivirus, "memory+swap") == .warning)
            #expect(withAntivirus[1].fix?.contains("swapon") == true)
            // MemTotal of a 2 GiB machine is under 2 GiB: the slack lets it pass without ClamAV.
            let without = HostChecks.memory(low, try DoctorFixtures.seedGuide(antivirus: false))
            #expect(verdict(without, "memory") == .ok)

            let enough = HostChecks.memory(
                HostFacts.read(root: DoctorFixtures.root("enough-memory")), try DoctorFixtures.seedGuide())
            #expect(enough.map(\.verdict) == [.ok, .ok])
            #expect(enough[1].detail.contains("2.0 GiB swap"))

            let unreadable = HostChecks.memory(
                HostFacts.read(root: DoctorFixtures.root("selinux-permissive")), try DoctorFixtures.seedGuide())
            #expect(unreadable.map(\.verdict) == [.error, .error])
        }

        @Test("SELinux: enforcing warns with the guide's fix; permissive and absent pass")
        func selinux() {
            let enforcing = HostFacts.read(root: DoctorFixtures.root("selinux-enforcing")).selinux
            #expect(enforcing == .enforcing)
            #expect(HostChecks.selinux(enforcing).verdict == .warning)
            #expect(HostChecks.selinux(enforcing).fix?.contains("setenforce 0") == true)
            let permissive = HostFacts.read(root: DoctorFixtures.root("selinux-permissive")).selinux
            #expect(permissive == .permissive)
            #expect(HostChecks.selinux(permissive).verdict == .ok)
            let absent = HostFacts.read(root: DoctorFixtures.root("low-memory")).selinux
            #expect(absent == .absent)
            #expect(HostChecks.selinux(absent).verdict == .ok)
        }

        @Test("firewalld: the guide's services let every port in; ssh only blocks them with an --add-service fix")
        func firewalld() throws {
            let needs = try DoctorFixtures.seedGuide()
            let open = try #require(FirewalldZone.parse(listAll: try DoctorFixtures.text("firewalld-mail.txt")))
            #expect(open.name == "public")
            #expect(open.ports == ["51200/tcp", "51201/tcp"])
            #expect(HostChecks.firewall(.firewalld(open), needs).verdict == .ok)

            let closed = try #require(FirewalldZone.parse(listAll: try DoctorFixtures.text("firewalld-ssh-only.txt")))
            #expect(closed.allows(port: 8050, proto: "tcp"))
            #expect(!closed.allows(port: 8050, proto: "udp"))
            let result = HostChecks.firewall(.firewalld(closed), needs)
            #expect(result.verdict == .wrong)
            #expect(result.detail.contains("25/tcp") && result.detail.contains("443/udp"))
            #expect(
                result.fix
                    == "firewall-cmd --permanent --zone=public --add-service=http --add-service=http3 --add-service=https --add-service=imap --add-service=imaps --add-service=pop3 --add-service=pop3s --add-service=smtp --add-service=smtp-submission --add-service=smtps && firewall-cmd --reload"
            )
        }

        @Test(
            "nftables: accepts through a jump, a named set and an anonymous one; a source-limited accept opens nothing")
        func nftables() throws {
            let needs = try DoctorFixtures.seedGuide()
            let accept = try #require(
                NFTRuleset.parse(json: Data(try DoctorFixtures.text("nftables-accept.json").utf8)))
            #expect(accept.hasInputHook)
            #expect(HostChecks.firewall(.nftables(accept), needs).verdict == .ok)
            #expect(!accept.allows(port: 3306, proto: "tcp"))

            let drop = try #require(NFTRuleset.parse(json: Data(try DoctorFixtures.text("nftables-drop.json").utf8)))
            #expect(drop.allows(port: 80, proto: "tcp"))
            #expect(drop.allows(port: 8050, proto: "tcp"))
            // `ip saddr 10.0.0.0/8 tcp dport 25 accept` is not for everyone.
            #expect(!drop.allows(port: 25, proto: "tcp"))
            let result = HostChecks.firewall(.nftables(drop), needs)
            #expect(result.verdict == .wrong)
            #expect(
                result.detail
                    == "nftables drops new connections to 443/udp, 25/tcp, 110/tcp, 143/tcp, 465/tcp, 587/tcp, 993/tcp, 995/tcp"
            )
            #expect(result.fix?.contains("tcp dport { 25, 110, 143, 465, 587, 993, 995 } accept") == true)
            #expect(result.fix?.contains("udp dport { 443 } accept") == true)

            #expect(HostChecks.firewall(.none("nothing"), needs).verdict == .warning)
            #expect(HostChecks.firewall(.unreadable("nft failed"), needs).verdict == .error)
        }

        @Test("ports: free, held by the publishing container's conmon, or taken by another process")
        func ports() {
            let needs = HostRequirements(
                memoryBytes: 0, memoryReason: "", memoryPlusSwapBytes: 0,
                ports: [
                    .init(port: 25, container: "mailu-front"), .init(port: 80, container: "caddy2"),
                    .init(port: 443, container: "caddy2"),
                ])
            let listeners = [
                HostFacts.Listener(proto: "tcp", address: "203.0.113.10", port: 25, inode: 1),
                HostFacts.Listener(proto: "tcp", address: "0.0.0.0", port: 80, inode: 2),
            ]
            let holders = [
                UInt64(1): HostFacts.Holder(pid: 10, command: "conmon", container: "mailu-front"),
                2: HostFacts.Holder(pid: 11, command: "nginx"),
            ]
            let results = HostChecks.ports(needs, listeners: listeners, holders: holders)
            #expect(results.map(\.verdict) == [.ok, .wrong, .ok])
            #expect(results[0].detail == "held by mailu-front")
            #expect(results[1].detail.contains("0.0.0.0 by nginx (pid 11)"))
            #expect(results[2].detail == "free")
        }

        @Test("agent configuration: check_interval (default 1h, off), check_outside; a zero interval refused")
        func agentConfiguration() throws {
            let defaults = try AgentConfiguration.parse("repository: /r\n", file: "agent.yaml")
            #expect(defaults.checkInterval == .seconds(3600) && defaults.checkOutside)
            let set = try AgentConfiguration.parse(
                "repository: /r\ncheck_interval: 10m\ncheck_outside: false\n", file: "agent.yaml")
            #expect(set.checkInterval == .seconds(600) && !set.checkOutside)
            #expect(
                try AgentConfiguration.parse("repository: /r\ncheck_interval: off\n", file: "a").checkInterval == nil)
            #expect(throws: AgentConfigurationError.self) {
                try AgentConfiguration.parse("repository: /r\ncheck_interval: 0s\n", file: "a")
            }
        }

        @Test("metrics: one mailroom_check_ok gauge per check, labels escaped, and the last run's time")
        func metrics() {
            var metrics = AgentMetrics()
            #expect(!metrics.prometheusText.contains("mailroom_check"))
            metrics.checks = [
                LiveCheckResult(group: "host", name: "memory", verdict: .ok, detail: ""),
                LiveCheckResult(group: "dns", name: "TXT \"x\"", verdict: .missing, detail: ""),
                LiveCheckResult(group: "outside", name: "outbound port 25", verdict: .skipped, detail: ""),
            ]
            metrics.checksRanAt = Date(timeIntervalSince1970: 1_800_000_000.5)
            let text = metrics.prometheusText
            #expect(text.contains("mailroom_check_ok{group=\"host\",name=\"memory\"} 1\n"))
            #expect(text.contains("mailroom_check_ok{group=\"dns\",name=\"TXT \\\"x\\\"\"} 0\n"))
            #expect(text.contains("mailroom_check_ok{group=\"outside\",name=\"outbound port 25\"} -1\n"))
            #expect(text.contains("mailroom_checks_last_run_timestamp_seconds 1800000000\n"))
        }

        @Test("conmon's arguments name the container whose port it holds")
        func conmon() {
            #expect(
                HostFacts.conmonContainer(["/usr/bin/conmon", "--api-version", "1", "-n", "mailu-front"])
                    == "mailu-front")
            #expect(HostFacts.conmonContainer(["/usr/sbin/nginx", "-n", "x"]) == nil)
        }

        @Test("/proc/net tables: IPv4 and IPv6 listeners in the kernel's byte order; other states ignored")
        func socketTables() {
            let tcp = """
                  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
                   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0
                   1: 0100007F:0CEA 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 4243 1 0
                """
            #expect(
                HostFacts.parseSocketTable(tcp, proto: "tcp", ipv6: false) == [
                    .init(proto: "tcp", address: "127.0.0.1", port: 3306, inode: 4242)
                ])
            let tcp6 = """
                  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
                   0: 00000000000000000000000001000000:0019 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0
                """
            #expect(HostFacts.parseSocketTable(tcp6, proto: "tcp", ipv6: true).map(\.address) == ["::1"])
        }

        @Test("podman: version 4+, netavark required for a dual-stack network; podman.socket")
        func podman() {
            let cni = HostChecks.podman(.success(PodmanFacts(version: "4.3.1", networkBackend: "cni")), dualStack: true)
            #expect(cni.map(\.verdict) == [.ok, .wrong])
            #expect(
                HostChecks.podman(.success(PodmanFacts(version: "4.3.1", networkBackend: "cni")), dualStack: false)
                    .map(\.verdict) == [.ok, .warning])
            #expect(
                HostChecks.podman(.success(PodmanFacts(version: "3.4.4", networkBackend: "netavark")), dualStack: true)
                    .map(\.verdict) == [.wrong, .ok])
            #expect(
                HostChecks.podman(.failure(ProbeError("podman is not installed")), dualStack: false).map(\.verdict)
                    == [.wrong, .error])
            #expect(
                HostChecks.podmanSocket(
                    PodmanSocketFacts(enabled: "enabled", active: "active", path: "/s", answers: true)
                )
                .verdict == .ok)
            #expect(
                HostChecks.podmanSocket(
                    PodmanSocketFacts(enabled: "disabled", active: "inactive", path: "/s", answers: false)
                )
                .verdict == .warning)
            #expect(HostChecks.podmanSocket(PodmanSocketFacts(path: "/s", answers: true)).verdict == .ok)
        }

        @Test(
            "certificate: skipped before anything serves HTTPS, wrong when unreachable or expired, warning under 14 days"
        )
        func certificate() {
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            func cert(days: Double, verify: Int = 0) -> CertificateFacts {
                CertificateFacts(
                    notAfter: now.addingTimeInterval(days * 86400), subject: "CN=mail.example.com", issuer: "CN=R3",
                    verifyCode: verify,
                    verifyText: verify == 0 ? "0 (ok)" : "21 (unable to verify the first certificate)")
            }
            func check(_ facts: CertificateFacts?, listening: Bool = true, internalCA: Bool = false) -> LiveCheckResult
            {
                HostChecks.certificate(
                    facts, website: "mail.example.com", listening: listening, internalCA: internalCA, now: now)
            }
            #expect(check(nil, listening: false).verdict == .skipped)
            #expect(check(CertificateFacts(failure: "connection refused")).verdict == .wrong)
            #expect(check(cert(days: 60)).verdict == .ok)
            #expect(check(cert(days: 60)).detail.contains("(60 days), issued by CN=R3"))
            #expect(check(cert(days: 10)).verdict == .warning)
            #expect(check(cert(days: -2)).verdict == .wrong)
            #expect(check(cert(days: 60, verify: 21)).verdict == .wrong)
            #expect(check(cert(days: 60, verify: 21), internalCA: true).verdict == .ok)
            #expect(
                HostChecks.certificate(nil, website: nil, listening: true, internalCA: false, now: now).verdict
                    == .skipped)
        }
    }
}

@Suite("Doctor on this machine", .tags(.os))
struct DoctorHostTests {
    /// A TCP listener on 127.0.0.1 with a port the kernel picks; `close()` closes it (once).
    final class Listener: Sendable {
        private let descriptor: LockedValue<Int32>
        let port: Int

        init() throws {
            // Close-on-exec: a child another test starts meanwhile must not keep it open.
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw TestSetupError("socket failed") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, $0, &length) == 0
                }
            }
            guard bound else {
                _ = Glibc.close(fd)
                throw TestSetupError("bind/listen failed")
            }
            descriptor = LockedValue(fd)
            port = Int(UInt16(bigEndian: address.sin_port))
        }

        func close() {
            descriptor.withLock { fd in
                if fd >= 0 { _ = Glibc.close(fd) }
                fd = -1
            }
        }

        deinit { close() }
    }

    @Test("a port this test listens on is taken, by this process; closed, it is free")
    func realListener() async throws {
        let listener = try Listener()
        let needs = HostRequirements(
            memoryBytes: 0, memoryReason: "", memoryPlusSwapBytes: 0,
            ports: [.init(port: listener.port, address: "127.0.0.1", container: "test-front")])
        func check() -> LiveCheckResult {
            let facts = HostFacts.read()
            let taken = facts.listeners.filter { $0.port == listener.port }
            return HostChecks.ports(needs, listeners: taken, holders: facts.holders(of: Set(taken.map(\.inode))))[0]
        }
        let held = check()
        listener.close()
        #expect(held.verdict == .wrong)
        #expect(held.detail.contains("127.0.0.1 by "))
        #expect(held.detail.contains("(pid \(getpid()))"))
        // Gone once no process holds it (a child being spawned elsewhere may, for an instant).
        try await waitFor("port \(listener.port) to be free") { check().verdict == .ok }
        #expect(check().detail == "free")
    }

    @Test("this machine's memory and SELinux are read from /proc and /sys")
    func realFacts() {
        let facts = HostFacts.read()
        #expect((facts.memoryTotal ?? 0) > 0)
        #expect(facts.listeners.allSatisfy { $0.port > 0 })
        let selinux = FileManager.default.fileExists(atPath: "/sys/fs/selinux/enforce")
        #expect((facts.selinux == .absent) == !selinux)
    }

    /// Caddy on loopback serving `doctor.test` with its internal CA, on a free port.
    @Test("TLS: the certificate Caddy serves with its local CA: untrusted, trusted with its root, days to expiry")
    func caddyCertificate() async throws {
        guard let caddy = ProcessRunner.which("caddy") else {
            Issue.record("caddy is not installed: contrib/install-deps.sh test")
            return
        }
        let directory = NSTemporaryDirectory() + "mailroom-doctor-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let probe = try Listener()
        let port = probe.port
        let httpProbe = try Listener()
        let httpPort = httpProbe.port
        probe.close()
        httpProbe.close()
        let caddyfile = """
            {
            \tadmin off
            \tlocal_certs
            \tskip_install_trust
            \thttp_port \(httpPort)
            \thttps_port \(port)
            }
            doctor.test:\(port) {
            \tbind 127.0.0.1
            \ttls internal
            \trespond "ok"
            }

            """
        try caddyfile.write(toFile: directory + "/Caddyfile", atomically: true, encoding: .utf8)
        let process = try ProcessRunner().start(
            [caddy, "run", "--config", directory + "/Caddyfile", "--adapter", "caddyfile"],
            environment: ["HOME": directory, "XDG_DATA_HOME": directory + "/data", "XDG_CONFIG_HOME": directory])
        defer { process.stop() }

        let probes = HostProbes()
        var facts = CertificateFacts(failure: "not yet")
        try await waitFor("Caddy to serve doctor.test on \(port)") {
            facts = await probes.certificate(host: "127.0.0.1", port: port, serverName: "doctor.test")
            return facts.failure == nil
        }
        let notAfter = try #require(facts.notAfter)
        #expect(facts.verifyCode != 0)
        #expect(facts.issuer.contains("Caddy Local Authority"))
        func check(_ facts: CertificateFacts, internalCA: Bool, now: Date = Date()) -> LiveCheckResult {
            HostChecks.certificate(facts, website: "doctor.test", listening: true, internalCA: internalCA, now: now)
        }
        #expect(check(facts, internalCA: false).verdict == .wrong)
        #expect(check(facts, internalCA: false).detail.hasPrefix("not trusted"))
        // Caddy's internal certificates last 12 hours: under 14 days.
        #expect(check(facts, internalCA: true).verdict == .warning)
        #expect(check(facts, internalCA: true, now: notAfter.addingTimeInterval(-30 * 86400)).verdict == .ok)
        #expect(check(facts, internalCA: true, now: notAfter.addingTimeInterval(3600)).verdict == .wrong)

        let root = directory + "/data/caddy/pki/authorities/local/root.crt"
        let trusted = await probes.certificate(
            host: "127.0.0.1", port: port, serverName: "doctor.test", caFile: root)
        #expect(trusted.verifyCode == 0)
        #expect(check(trusted, internalCA: false).verdict == .warning)
        #expect(check(trusted, internalCA: false).detail.contains("issued by"))
        // The name is checked too: another name is not what the certificate says.
        let otherName = await probes.certificate(
            host: "127.0.0.1", port: port, serverName: "other.test", caFile: root)
        #expect(otherName.verifyCode != 0)
    }
}

@Suite("Doctor with podman", .tags(.podman))
struct DoctorPodmanTests {
    @Test("podman facts from the real podman: its version and network backend")
    func podmanFacts() async throws {
        let podman = try TestPodman.podman()
        let version = try await podman.execute(["version", "--format", "{{.Client.Version}}"]).stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let facts = try await HostProbes().podman().get()
        #expect(facts.version == version)
        #expect(["netavark", "cni"].contains(facts.networkBackend))
        #expect(HostChecks.podman(.success(facts), dualStack: false)[0].verdict == .ok)
    }

    @Test("mailroom doctor on this machine: a verdict for every check, the outside ones skipped; JSON; exit 0 or 1")
    func doctorCommand() async throws {
        _ = try TestPodman.podman()
        let result = try await MailroomBinary.run(
            ["doctor", Fixtures.seedGuide, "--skip-outside", "--output", "json"],
            environment: ["CONTAINERS_CONF": TestPodman.containersConf])
        let results = try JSONDecoder().decode([LiveCheckResult].self, from: result.stdout)
        #expect(
            results.map(\.name) == [
                "memory", "memory+swap", "selinux", "podman version", "network backend", "podman.socket",
                "port 80/tcp", "port 443/tcp", "port 443/udp", "port 25/tcp", "port 110/tcp", "port 143/tcp",
                "port 465/tcp", "port 587/tcp", "port 993/tcp", "port 995/tcp", "firewall",
                "certificate mail.example.com", "outbound port 25", "host DNS",
            ])
        #expect(results.last?.verdict == .skipped)
        #expect(results.first { $0.name == "podman version" }?.verdict == .ok)
        #expect(results.allSatisfy { $0.verdict.passes || $0.fix != nil || $0.verdict == .error })
        #expect(result.status == (results.allSatisfy(\.verdict.passes) ? 0 : 1))

        let text = try await MailroomBinary.run(
            ["doctor", Fixtures.seedGuide, "--skip-outside"],
            environment: ["CONTAINERS_CONF": TestPodman.containersConf])
        #expect(text.status == result.status)
        #expect(text.stdoutText.contains("20 checks: "))
    }
}
