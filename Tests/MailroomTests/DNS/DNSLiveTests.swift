import Foundation
import Testing

@testable import MailroomDNS
@testable import MailroomHost
@testable import MailroomSupport
@testable import MailroomTestSupport

/// `mailroom dns` against a real Knot and a validating Unbound on loopback.
@Suite("DNS: records, checks and updates against Knot and Unbound", .serialized, .tags(.dns))
struct DNSLiveTests {
    /// A spec directory for `domains` with its DKIM keys created, and a state directory.
    struct Deployment {
        var directory: String
        var spec: String { directory + "/spec" }
        var state: String { directory + "/state" }

        init(
            _ name: String, domains: [String], hostname: String, address: String, keys: Bool = true, extra: String = ""
        ) throws {
            directory = NSTemporaryDirectory() + "mailroom-dns-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: directory + "/spec", withIntermediateDirectories: true)
            let text = """
                network: {name: mailu, subnet: 10.90.0.0/16, gateway: 10.90.0.1}
                domains: [\(domains.joined(separator: ", "))]
                mailu:
                  root: \(directory)/mailu
                  hostnames: [\(hostname)]
                  public_ipv4: \(address)
                caddy:
                  email: admin@\(domains[0])
                \(extra)
                """
            try Data(text.utf8).write(to: URL(fileURLWithPath: spec + "/mailroom.yaml"))
            if keys {
                for domain in domains { _ = try RSAKeyFile.create(at: "\(directory)/mailu/dkim/\(domain).dkim.key") }
            }
        }

        func dns(_ arguments: [String]) async throws -> ProcessResult {
            try await MailroomBinary.run(["dns", spec] + arguments, state: state)
        }

        /// The zone-file fragment for `zone`, as `mailroom dns --output zone --zone` prints it.
        /// Exit 1 when a record cannot be computed yet (a missing DKIM key).
        func zone(_ zone: String, status: Int32 = 0) async throws -> String {
            let result = try await dns(["--output", "zone", "--zone", zone])
            #expect(result.status == status, "\(result.stderrText)")
            return result.stdoutText
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    static func decode(_ result: ProcessResult) throws -> [LiveCheckResult] {
        try JSONDecoder().decode([LiveCheckResult].self, from: result.stdout)
    }

    static func verdicts(_ results: [LiveCheckResult]) -> [String: LiveCheckResult.Verdict] {
        Dictionary(results.map { ($0.name, $0.verdict) }, uniquingKeysWith: { first, _ in first })
    }

    @Test func zoneOutputLoadsUnchangedAndChecksAllRight() async throws {
        let deployment = try Deployment(
            "right", domains: ["signed.test", "unsigned.test"], hostname: "mail.signed.test", address: "203.0.113.10")
        defer { deployment.remove() }
        let zones = [
            DNSTestServers.Zone(name: "signed.test.", body: try await deployment.zone("signed.test"), signed: true),
            DNSTestServers.Zone(name: "unsigned.test.", body: try await deployment.zone("unsigned.test")),
            DNSTestServers.Zone(
                name: "113.0.203.in-addr.arpa.", body: try await deployment.zone("113.0.203.in-addr.arpa")),
            DNSTestServers.Zone(name: "dnsbl.test.", body: "20.113.0.203.dnsbl.test. 600 IN A 127.0.0.2\n"),
        ]
        #expect(zones[2].body.contains("\n10.113.0.203.in-addr.arpa. 600 IN PTR mail.signed.test.\n"))
        let servers = try await DNSTestServers(zones, in: deployment.directory + "/dns")
        defer { servers.stop() }
        // Knot loaded every line: nothing was dropped as out of zone or unreadable.
        #expect(!servers.log("knot.log").contains("error"), "\(servers.log("knot.log"))")

        let check = try await deployment.dns(["--check", "--resolver", "\(servers.resolver)", "--output", "json"])
        let results = try Self.decode(check)
        #expect(check.status == 0, "\(check.stdoutText)\(check.stderrText)")
        // 2 × (MX, SPF, DKIM, DMARC, report, TLSA, 7 SRV, autoconfig) + A + PTR, and two zones.
        #expect(results.count == 32)
        for result in results where result.group == "dns" {
            #expect(result.verdict == .ok, "\(result.name): \(result.detail)")
        }
        let verdicts = Self.verdicts(results)
        #expect(verdicts["DNSSEC signed.test"] == .ok)
        #expect(verdicts["DNSSEC unsigned.test"] == .warning)
        let tlsa = try #require(results.first { $0.name == "TLSA _25._tcp.mail.signed.test" })
        #expect(!tlsa.detail.contains("not validated"))

        // The same through the text output: every line says ok or warning.
        let text = try await deployment.dns(["--check", "--resolver", "\(servers.resolver)"])
        #expect(text.status == 0)
        #expect(text.stdoutText.contains("\n32 checks: "), "\(text.stdoutText)")
        #expect(!text.stdoutText.contains("wrong") && !text.stdoutText.contains("missing"), "\(text.stdoutText)")

        // The host checks doctor runs: PTR, A, and the (local) blacklist.
        let client = DNSClient(servers: [servers.resolver])
        let host = await HostDNSChecks.run(
            hostname: "mail.signed.test", addresses: [IPAddress("203.0.113.10")!], client: client,
            blacklists: ["dnsbl.test"])
        #expect(host.map(\.verdict) == [.ok, .ok, .ok], "\(host)")
        let listed = HostDNSChecks.blacklist(IPAddress("203.0.113.20")!, list: "dnsbl.test", client: client)
        #expect(listed.verdict == .wrong)
        #expect(listed.detail.contains("127.0.0.2"))

        // And through `mailroom doctor`, with the resolver and the blacklist named.
        let doctor = try await MailroomBinary.run(
            [
                "doctor", deployment.spec, "--skip-outside", "--resolver", "\(servers.resolver)", "--dnsbl",
                "dnsbl.test",
                "--output", "json",
            ], state: deployment.state)
        let checks = try JSONDecoder().decode([LiveCheckResult].self, from: doctor.stdout)
        let dnsChecks = checks.filter { !["host", "outside", "network", "tls", "podman"].contains($0.group) }
        #expect(dnsChecks.map(\.verdict) == [.ok, .ok, .ok], "\(dnsChecks)")
    }

    @Test func everyKindOfWrongRecordIsNamedWithTheFix() async throws {
        let deployment = try Deployment(
            "wrong", domains: ["wrong.test"], hostname: "mail.wrong.test", address: "203.0.113.20")
        defer { deployment.remove() }
        let zones = [
            DNSTestServers.Zone(
                name: "wrong.test.",
                body: """
                    wrong.test. 600 IN MX 10 old.wrong.test.
                    wrong.test. 600 IN TXT "v=spf1 -all"
                    wrong.test. 600 IN TXT "google-site-verification=abc"
                    _dmarc.wrong.test. 600 IN TXT "v=DMARC1; p=none"
                    _25._tcp.mail.wrong.test. 86400 IN TLSA 3 1 1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
                    _imap._tcp.wrong.test. 600 IN SRV 20 1 1143 mail.wrong.test.
                    _imaps._tcp.wrong.test. 600 IN SRV 10 1 993 mail.wrong.test.
                    autoconfig.wrong.test. 600 IN CNAME www.wrong.test.
                    mail.wrong.test. 600 IN A 203.0.113.99

                    """),
            DNSTestServers.Zone(
                name: "113.0.203.in-addr.arpa.", body: "20.113.0.203.in-addr.arpa. 600 IN PTR host.provider.test.\n"),
            // Signed, but the parent's DS names no key of it: validating resolvers refuse it.
            DNSTestServers.Zone(
                name: "bogus.test.", body: "bogus.test. 600 IN MX 10 mail.wrong.test.\n", signed: true, brokenDS: true),
        ]
        let servers = try await DNSTestServers(zones, in: deployment.directory + "/dns")
        defer { servers.stop() }
        let check = try await deployment.dns(["--check", "--resolver", "\(servers.resolver)", "--output", "json"])
        #expect(check.status == 1)
        let results = try Self.decode(check)
        let verdicts = Self.verdicts(results)
        let expected: [String: LiveCheckResult.Verdict] = [
            "MX wrong.test": .wrong, "SPF wrong.test": .wrong, "DKIM dkim._domainkey.wrong.test": .missing,
            "DMARC _dmarc.wrong.test": .wrong, "DMARC report wrong.test._report._dmarc.wrong.test": .missing,
            "TLSA _25._tcp.mail.wrong.test": .wrong, "SRV imap _imap._tcp.wrong.test": .wrong,
            "SRV imaps _imaps._tcp.wrong.test": .ok, "SRV pop3 _pop3._tcp.wrong.test": .missing,
            "autoconfig autoconfig.wrong.test": .wrong, "A mail.wrong.test": .wrong,
            "PTR 20.113.0.203.in-addr.arpa": .wrong, "DNSSEC wrong.test": .warning,
        ]
        for (name, verdict) in expected {
            #expect(
                verdicts[name] == verdict, "\(name): \(results.first { $0.name == name }.map(\.detail) ?? "no result")")
        }
        // Each one that does not pass says what to set, and what to remove in its place.
        for result in results where !result.verdict.passes {
            #expect(result.fix?.contains("set: ") == true, "\(result.name) has no fix")
        }
        let spf = try #require(results.first { $0.name == "SPF wrong.test" })
        #expect(spf.detail.contains("\"v=spf1 -all\"") && !spf.detail.contains("google"))
        #expect(spf.fix?.contains("remove: wrong.test. 600 IN TXT \"v=spf1 -all\"") == true)
        #expect(spf.fix?.contains("set: wrong.test. 600 IN TXT \"v=spf1 mx a:mail.wrong.test ~all\"") == true)
        let mx = try #require(results.first { $0.name == "MX wrong.test" })
        #expect(
            mx.fix == "remove: wrong.test. 600 IN MX 10 old.wrong.test.; set: wrong.test. 600 IN MX 10 mail.wrong.test."
        )
        let tlsa = try #require(results.first { $0.name == "TLSA _25._tcp.mail.wrong.test" })
        #expect(tlsa.detail.contains("TLSA protects nothing without DNSSEC"))
        let ptr = try #require(results.first { $0.name == "PTR 20.113.0.203.in-addr.arpa" })
        #expect(ptr.detail.contains("host.provider.test."))

        // A broken DNSSEC chain: the zone's records cannot be read, and the zone is named wrong.
        let client = DNSClient(servers: [servers.resolver])
        let bogus = DNSCheck.dnssec(zone: "bogus.test.", client: client)
        #expect(bogus.verdict == .wrong, "\(bogus.detail)")
        #expect(bogus.detail.contains("SERVFAIL"))
        let bogusMX = DNSCheck.record(
            RequiredRecord(
                purpose: "MX", domain: "bogus.test",
                record: DNSRecord(name: "bogus.test", type: "MX", ttl: 600, rdata: "10 mail.wrong.test.")),
            client: client)
        #expect(bogusMX.verdict == .error && bogusMX.detail.contains("SERVFAIL"), "\(bogusMX.detail)")
    }

    @Test func updateAppliesThePlanAndASecondChangesNothing() async throws {
        let deployment = try Deployment(
            "update", domains: ["update.test"], hostname: "mail.update.test", address: "203.0.113.30")
        defer { deployment.remove() }
        let zones = [
            DNSTestServers.Zone(
                name: "update.test.",
                body: """
                    update.test. 600 IN MX 10 old.update.test.
                    update.test. 600 IN TXT "google-site-verification=abc"
                    update.test. 600 IN TXT "v=spf1 -all"

                    """, signed: true),
            DNSTestServers.Zone(name: "113.0.203.in-addr.arpa.", body: ""),
        ]
        let servers = try await DNSTestServers(zones, in: deployment.directory + "/dns")
        defer { servers.stop() }
        let secrets = deployment.directory + "/secrets.env"
        try Data("DNS_UPDATE_TSIG=\(DNSTestServers.tsigKey)\n".utf8).write(to: URL(fileURLWithPath: secrets))
        chmod(secrets, 0o600)
        let update = ["--update", "--server", "\(servers.authoritative)", "--secrets-file", secrets]

        let dryRun = try await deployment.dns(update + ["--dry-run"])
        #expect(dryRun.status == 0, "\(dryRun.stderrText)")
        let lines = dryRun.stdoutText.split(separator: "\n").map(String.init)
        #expect(lines.contains("~ MX update.test 10 mail.update.test. (was 10 old.update.test.)"))
        #expect(lines.contains("~ TXT update.test \"v=spf1 mx a:mail.update.test ~all\" (was \"v=spf1 -all\")"))
        #expect(lines.contains("+ SRV _imaps._tcp.update.test 10 1 993 mail.update.test."))
        #expect(lines.contains("+ PTR 30.113.0.203.in-addr.arpa 600 IN PTR mail.update.test.") == false)
        #expect(lines.contains("+ PTR 30.113.0.203.in-addr.arpa mail.update.test."))
        #expect(dryRun.stdoutText.contains("--dry-run: nothing sent"))

        let wrongKey = deployment.directory + "/wrong.env"
        try Data("DNS_UPDATE_TSIG=hmac-sha256:mailroom-test:d3Jvbmd3cm9uZ3dyb25nd3Jvbmc=\n".utf8).write(
            to: URL(fileURLWithPath: wrongKey))
        chmod(wrongKey, 0o600)
        let refused = try await deployment.dns(
            ["--update", "--server", "\(servers.authoritative)", "--secrets-file", wrongKey])
        #expect(refused.status == 1)
        #expect(refused.stderrText.contains("update.test"), "\(refused.stderrText)")

        let first = try await deployment.dns(update)
        #expect(first.status == 0, "\(first.stdoutText)\(first.stderrText)")
        #expect(first.stdoutText.contains("change(s) applied"))
        let second = try await deployment.dns(update)
        #expect(second.status == 0, "\(second.stderrText)")
        #expect(second.stdoutText.contains("every record is in place; no changes."), "\(second.stdoutText)")

        // What the update wrote is what --check wants, and the other TXT record was left alone.
        let check = try await deployment.dns(["--check", "--resolver", "\(servers.resolver)", "--output", "json"])
        let results = try Self.decode(check)
        #expect(check.status == 0, "\(check.stdoutText)")
        for result in results where result.group == "dns" {
            #expect(result.verdict == .ok, "\(result.name): \(result.detail)")
        }
        #expect(Self.verdicts(results)["DNSSEC update.test"] == .ok)
        let txt = try DNSClient(servers: [servers.authoritative], recursive: false).query("update.test", "TXT")
        #expect(
            txt.records("TXT").map(\.value).sorted() == [
                "google-site-verification=abc", "v=spf1 mx a:mail.update.test ~all",
            ])
    }

    /// A backup MX is a second MX (preference 20) beside the primary's, with its own A, PTR
    /// and TLSA: `--check` wants both MX, `--update` adds the second and removes a stray one.
    @Test func aBackupMXIsTheSecondMX() async throws {
        let deployment = try Deployment(
            "backup", domains: ["backup.test"], hostname: "mail.backup.test", address: "203.0.113.40",
            extra: """
                hosts:
                  mail: {address: 10.0.0.1}
                  mx2: {role: backup-mx, subnet: 10.91.0.0/24, hostname: mx2.backup.test, public_ipv4: 203.0.113.41}

                """)
        defer { deployment.remove() }
        let zones = [
            DNSTestServers.Zone(
                name: "backup.test.",
                body: """
                    backup.test. 600 IN MX 10 mail.backup.test.
                    backup.test. 600 IN MX 30 old-backup.example.net.
                    mail.backup.test. 600 IN A 203.0.113.40

                    """, signed: true),
            DNSTestServers.Zone(name: "113.0.203.in-addr.arpa.", body: ""),
        ]
        let servers = try await DNSTestServers(zones, in: deployment.directory + "/dns")
        defer { servers.stop() }
        // Asked of the authoritative server: the validating resolver would cache these answers.
        let before = try Self.decode(
            try await deployment.dns(["--check", "--resolver", "\(servers.authoritative)", "--output", "json"]))
        let primary = try #require(before.first { $0.name == "MX backup.test" })
        #expect(primary.verdict == .wrong, "\(primary.detail)")
        #expect(primary.fix == "remove: backup.test. 600 IN MX 30 old-backup.example.net.", "\(primary.fix ?? "")")
        let second = try #require(before.first { $0.name == "MX (backup mx2) backup.test" })
        #expect(second.verdict == .wrong)
        #expect(second.fix?.contains("set: backup.test. 600 IN MX 20 mx2.backup.test.") == true, "\(second.fix ?? "")")

        let secrets = deployment.directory + "/secrets.env"
        try Data("DNS_UPDATE_TSIG=\(DNSTestServers.tsigKey)\n".utf8).write(to: URL(fileURLWithPath: secrets))
        chmod(secrets, 0o600)
        let update = ["--update", "--server", "\(servers.authoritative)", "--secrets-file", secrets]
        let dryRun = try await deployment.dns(update + ["--dry-run"])
        let lines = dryRun.stdoutText.split(separator: "\n").map(String.init)
        #expect(lines.contains("~ MX backup.test 20 mx2.backup.test. (was 30 old-backup.example.net.)"), "\(lines)")
        #expect(!lines.contains { $0.hasPrefix("- MX") || $0.contains("MX backup.test 10") }, "\(lines)")
        #expect(lines.contains("+ A mx2.backup.test 203.0.113.41"), "\(lines)")
        #expect(lines.contains("+ PTR 41.113.0.203.in-addr.arpa mx2.backup.test."), "\(lines)")
        #expect(
            lines.contains(
                "+ TLSA _25._tcp.mx2.backup.test 2 1 1 0b9fa5a59eed715c26c1020c711b4f6ec42d58b0015e14337a39dad301c5afc3"
            ), "\(lines)")

        let first = try await deployment.dns(update)
        #expect(first.status == 0, "\(first.stdoutText)\(first.stderrText)")
        let again = try await deployment.dns(update)
        #expect(again.stdoutText.contains("every record is in place; no changes."), "\(again.stdoutText)")
        let mx = try DNSClient(servers: [servers.authoritative], recursive: false).query("backup.test", "MX")
        #expect(mx.records("MX").map(\.rdata).sorted() == ["10 mail.backup.test.", "20 mx2.backup.test."])
        let after = try Self.decode(
            try await deployment.dns(["--check", "--resolver", "\(servers.resolver)", "--output", "json"]))
        for result in after where result.group == "dns" {
            #expect(result.verdict == .ok, "\(result.name): \(result.detail)")
        }
    }

    @Test func checkWithoutAKeyReportsItNotCreatedYet() async throws {
        let deployment = try Deployment(
            "nokey", domains: ["unsigned.test"], hostname: "mail.unsigned.test", address: "203.0.113.40", keys: false)
        defer { deployment.remove() }
        let listing = try await deployment.dns([])
        #expect(listing.status == 1)
        // Flags that belong together, or do not: usage errors (64) that name them.
        for (flags, message) in [
            (["--update"], "--update needs --server"), (["--check", "--update"], "--check and --update"),
            (["--resolver", "127.0.0.1"], "--resolver is for --check"),
            (["--check", "--resolver", "ns.example.com"], "not ADDRESS[:PORT]"),
            (["--check", "--output", "zone"], "--output zone"),
        ] {
            let misuse = try await deployment.dns(flags)
            #expect(misuse.status == 64 && misuse.stderrText.contains(message), "\(flags): \(misuse.stderrText)")
        }
        #expect(listing.stdoutText.contains("key not created yet: apply creates it"))
        let servers = try await DNSTestServers(
            [DNSTestServers.Zone(name: "unsigned.test.", body: try await deployment.zone("unsigned.test", status: 1))],
            in: deployment.directory + "/dns")
        defer { servers.stop() }
        let check = try await deployment.dns(["--check", "--resolver", "\(servers.resolver)", "--output", "json"])
        #expect(check.status == 1)
        let dkim = try #require(try Self.decode(check).first { $0.name == "DKIM dkim._domainkey.unsigned.test" })
        #expect(dkim.verdict == .error)
        #expect(dkim.fix?.contains("apply creates it") == true)
    }
}
