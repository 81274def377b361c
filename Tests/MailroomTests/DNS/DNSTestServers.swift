import Foundation
import Testing

@testable import MailroomDNS
@testable import MailroomHost
@testable import MailroomSupport
@testable import MailroomTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A real DNS tree on loopback for the tests: Knot (authoritative, DNSSEC signing, RFC 2136
/// with TSIG) serving a signed `test.` with child zones under it, and a validating Unbound in
/// front whose trust anchor is `test.`'s key. Nothing leaves the machine: Unbound knows only
/// Knot (stub zones), and Knot answers only for its zones.
final class DNSTestServers {
    struct Zone {
        var name: String
        /// Zone-file lines without SOA and NS (the harness adds them).
        var body: String
        var signed = false
        /// Publish a DS whose digest matches no key of the zone (a broken chain).
        var brokenDS = false
    }

    /// The TSIG key Knot accepts updates with, as the secrets file holds it.
    static let tsigKey = "hmac-sha256:mailroom-test:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"

    let directory: String
    let knotPort: Int
    let unboundPort: Int
    private var processes: [BackgroundProcess] = []

    var authoritative: DNSServer { DNSServer(address: IPAddress("127.0.0.1")!, port: UInt16(knotPort)) }
    var resolver: DNSServer { DNSServer(address: IPAddress("127.0.0.1")!, port: UInt16(unboundPort)) }

    /// Writes the zones (children of `test.`, and reverse zones, by name), signs what is to be
    /// signed, and starts Knot, then Unbound; returns once both answer.
    init(_ zones: [Zone], in directory: String) async throws {
        self.directory = directory
        knotPort = try Self.freePort()
        unboundPort = try Self.freePort()
        for sub in ["zones", "keys", "run"] {
            try FileManager.default.createDirectory(atPath: "\(directory)/\(sub)", withIntermediateDirectories: true)
        }
        let all = [Zone(name: "test.", body: "", signed: true)] + zones
        try write(knotConfig(all), to: "knot.conf")
        var parent = "ns.test. 600 IN A 127.0.0.1\n"
        for zone in all where zone.signed {
            try await keymgr([zone.name, "generate", "algorithm=13", "ksk=yes", "zsk=yes"])
        }
        for zone in zones where DNSName.isWithin(zone.name, zone: "test.") {
            parent += "\(zone.name) 600 IN NS ns.test.\n"
            if zone.signed {
                // keymgr prints `name DS …` lines: the delegation's DS records.
                for line in try await keymgr([zone.name, "ds"]).split(separator: "\n") {
                    let fields = line.split(separator: " ", maxSplits: 1)
                    var ds = String(fields[1])
                    if zone.brokenDS { ds = String(ds.dropLast()) + (ds.hasSuffix("0") ? "1" : "0") }
                    parent += "\(fields[0]) 600 IN \(ds)\n"
                }
            }
        }
        for zone in all {
            let head =
                "\(zone.name) 600 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60\n\(zone.name) 600 IN NS ns.test.\n"
            try write(head + (zone.name == "test." ? parent : zone.body), to: "zones/\(zone.name)zone")
        }
        let anchor = try await keymgr(["test.", "dnskey"]).split(separator: "\n").first.map(String.init) ?? ""
        try write(unboundConfig(all, anchor: anchor), to: "unbound.conf")

        try start(["/usr/sbin/knotd", "-c", "\(directory)/knot.conf"], log: "knot.log")
        try await waitUntilAnswering(authoritative, recursive: false, what: "knotd", log: "knot.log")
        try start(["/usr/sbin/unbound", "-d", "-c", "\(directory)/unbound.conf"], log: "unbound.log")
        try await waitUntilAnswering(resolver, recursive: true, what: "unbound", log: "unbound.log")
    }

    /// Stops both servers and reaps them; safe to call twice.
    func stop() {
        for process in processes.reversed() { process.stop() }
        processes = []
    }

    deinit { stop() }

    func log(_ name: String) -> String {
        (try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8)) ?? ""
    }

    private func knotConfig(_ zones: [Zone]) -> String {
        let secret = Self.tsigKey.split(separator: ":")[2]
        var text = """
            server:
                rundir: "\(directory)/run"
                listen: 127.0.0.1@\(knotPort)
            database:
                storage: "\(directory)"
                kasp-db: "\(directory)/keys"
            log:
              - target: stderr
                any: info
            key:
              - id: mailroom-test
                algorithm: hmac-sha256
                secret: \(secret)
            acl:
              - id: update
                key: mailroom-test
                action: update
            policy:
              - id: manual
                manual: on
            template:
              - id: default
                storage: "\(directory)/zones"
                file: "%s.zone"
                zonefile-sync: -1
                acl: update
            zone:

            """
        for zone in zones {
            text += "  - domain: \(zone.name)\n"
            if zone.signed { text += "    dnssec-signing: on\n    dnssec-policy: manual\n" }
        }
        return text
    }

    private func unboundConfig(_ zones: [Zone], anchor: String) -> String {
        var text = """
            server:
                interface: 127.0.0.1
                port: \(unboundPort)
                do-daemonize: no
                username: ""
                chroot: ""
                directory: "\(directory)"
                pidfile: "\(directory)/run/unbound.pid"
                use-syslog: no
                logfile: ""
                verbosity: 1
                val-log-level: 2
                do-not-query-localhost: no
                module-config: "validator iterator"
                trust-anchor: "\(anchor)"

            """
        // Unbound answers test. and the documentation networks' reverse zones itself unless told not to.
        for zone in zones where zone.name == "test." || zone.name.hasSuffix(".arpa.") {
            text += "    local-zone: \"\(zone.name)\" nodefault\n"
        }
        text += "remote-control:\n    control-enable: no\n"
        for zone in zones {
            text += "stub-zone:\n    name: \"\(zone.name)\"\n    stub-addr: 127.0.0.1@\(knotPort)\n"
        }
        return text
    }

    private func write(_ text: String, to name: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: "\(directory)/\(name)"))
    }

    @discardableResult
    private func keymgr(_ arguments: [String]) async throws -> String {
        let result = try await ProcessRunner().run(["/usr/sbin/keymgr", "-c", "\(directory)/knot.conf"] + arguments)
        guard result.succeeded else { throw TestSetupError("keymgr \(arguments) failed: \(result.stderrText)") }
        return result.stdoutText
    }

    private func start(_ arguments: [String], log: String) throws {
        processes.append(
            try ProcessRunner().start(
                ["/bin/sh", "-c", "log=$1; shift; exec \"$@\" >\"$log\" 2>&1", "sh", "\(directory)/\(log)"]
                    + arguments))
    }

    /// Until the server answers `test. SOA`: a bound for a server that never starts (minutes),
    /// not a guess at how fast one does.
    private func waitUntilAnswering(_ server: DNSServer, recursive: Bool, what: String, log: String) async throws {
        var client = DNSClient(servers: [server], recursive: recursive)
        client.timeout = 1
        client.retries = 1
        let deadline = ContinuousClock.now + .seconds(180)
        while ContinuousClock.now < deadline {
            if let answer = try? client.query("test.", "SOA"), answer.rcode == "NOERROR" { return }
            guard let process = processes.last, Self.isRunning(process.pid) else {
                throw TestSetupError("\(what) exited: \(self.log(log))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSetupError("\(what) did not answer on \(server) within 3 minutes: \(self.log(log))")
    }

    private static func isRunning(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    /// A port free on 127.0.0.1 for both UDP and TCP, as the kernel hands one out.
    static func freePort() throws -> Int {
        for _ in 0..<100 {
            let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(tcp) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                    bind(tcp, pointer, length) == 0 && getsockname(tcp, pointer, &length) == 0
                }
            }
            guard bound else { continue }
            let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(udp) }
            let udpFree = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(udp, $0, length) == 0 }
            }
            if udpFree { return Int(UInt16(bigEndian: address.sin_port)) }
        }
        throw TestSetupError("no free port on 127.0.0.1")
    }
}
