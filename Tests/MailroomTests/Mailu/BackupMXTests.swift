import Foundation
import Testing

@testable import MailroomMailu
@testable import MailroomRender
@testable import MailroomSpec
@testable import MailroomSupport

extension PureTests {
    /// `role: backup-mx`: a receiving-only Mailu of its own that relays every domain to the primary.
    @Suite(.tags(.pure)) struct BackupMXTests {
        static var example: String { Fixtures.repositoryRoot + "/examples/backup-mx" }

        static func compile(_ text: String, host: String) throws -> CompiledSpec {
            try PureTests.HostsTests.compile(text, host: host)
        }

        static func exampleText() throws -> String { try SpecText.directory(example).text }

        static func file(_ compiled: CompiledSpec, endingWith suffix: String) -> String? {
            compiled.desired.files.first { $0.path.hasSuffix(suffix) }?.content
        }

        @Test func theBackupRunsTheReceivingSetOnItsOwnSubnet() throws {
            let mx2 = try Self.compile(try Self.exampleText(), host: "mx2")
            #expect(
                mx2.desired.containers.map(\.name) == [
                    "caddy2", "mailu-resolver", "mailu-front", "mailu-redis", "mailu-admin", "mailu-imap", "mailu-smtp",
                    "mailu-antispam",
                ])
            #expect(mx2.desired.network.subnets == ["10.91.0.0/24"])
            #expect(mx2.explicit.containers.allSatisfy { $0.ip?.hasPrefix("10.91.0.") == true && $0.ip6 == nil })
            // Only port 25, on its own public address.
            let front = try #require(mx2.explicit.container(named: "mailu-front"))
            #expect(front.ports == ["198.51.100.20:25:25/tcp"])
            // No routes to the primary: it reaches it over the internet.
            #expect(!mx2.desired.units.contains { $0.path.hasSuffix(HostRoutes.fileName) })
        }

        @Test func itsMailuEnvTrustsOnlyItsOwnSubnet() throws {
            let mx2 = try Self.compile(try Self.exampleText(), host: "mx2")
            let env = try #require(Self.file(mx2, endingWith: "/mailu.env"))
            for line in [
                "SUBNET=10.91.0.0/24", "HOSTNAMES=mx2.example.com", "DOMAIN=example.com", "ADMIN=false", "WEBMAIL=none",
                "ANTIVIRUS=none", "WEBDAV=none", "FETCHMAIL_ENABLED=False", "SMTP_ADDRESS=10.91.0.37",
                "REAL_IP_FROM=10.91.0.0/24", "WEBSITE=https://mx2.example.com", "WELCOME=false",
            ] {
                #expect(env.contains("\n\(line)\n"), "\(line)")
            }
            #expect(!env.contains("10.90."))
        }

        @Test func everyDomainIsARelayToThePrimary() throws {
            let mx2 = try Self.compile(try Self.exampleText(), host: "mx2")
            let objects = try #require(mx2.desired.objects)
            #expect(objects.container == "mailu-admin")
            #expect(objects.objects.map { "\($0.kind) \($0.key)" } == ["relay example.com"])
            #expect(objects.objects.first?.fields["smtp"] == .string("mail.example.com"))
            // It signs nothing: no DKIM key is made there.
            #expect(mx2.desired.keys.isEmpty)
            // Caddy serves its own name (certificates for port 25), no autoconfig site.
            let sites = mx2.desired.files.map(\.path).filter { $0.contains("/config/site/") }
            #expect(sites == ["/podmandirectory/caddy2/config/site/mx2.example.com.Caddyfile"])
        }

        /// The primary renders exactly what it renders without a backup MX.
        @Test func thePrimaryIsUnchanged() throws {
            let text = try Self.exampleText()
            let mail = try Self.compile(text, host: "mail")
            let alone = try Fixtures.compileSeedGuide()
            #expect(mail.desired.containers.map(\.arguments) == alone.desired.containers.map(\.arguments))
            #expect(mail.desired.files == alone.desired.files)
            #expect(mail.desired.units == alone.desired.units)
            // (Their origins differ: the lines of two files.)
            #expect(
                mail.desired.objects?.objects.map { [$0.kind, $0.key, "\($0.fields)"] }
                    == alone.desired.objects?.objects.map { [$0.kind, $0.key, "\($0.fields)"] })
        }

        @Test func dnsListsItAsTheSecondMX() throws {
            let mail = try Self.compile(try Self.exampleText(), host: "mail")
            let settings = try #require(MailuSettings.of(mail.spec))
            let records = MailuDNS.records(settings, dkimPublicKeys: [:])
            let mx = records.filter { $0.type == "MX" }.compactMap(\.record).map(\.rdata)
            #expect(mx == ["10 mail.example.com.", "20 mx2.example.com."])
            let names = records.compactMap(\.record).map { "\($0.type) \($0.name)" }
            for expected in [
                "A mx2.example.com.", "PTR 20.100.51.198.in-addr.arpa.", "TLSA _25._tcp.mx2.example.com.",
            ] {
                #expect(names.contains(expected), "\(expected) in \(names)")
            }
            // Whichever host asks, the records are the deployment's.
            let mx2 = try Self.compile(try Self.exampleText(), host: "mx2")
            let fromBackup = MailuDNS.records(try #require(MailuSettings.of(mx2.spec)), dkimPublicKeys: [:])
            #expect(fromBackup.map(\.record) == records.map(\.record))
        }

        /// The backup keeps no DKIM key: its agent checks every record but the DKIM ones.
        @Test func aHostWithoutTheKeysLeavesDKIMToThePrimary() throws {
            let text = try Self.exampleText()
            let mx2 = try Self.compile(text, host: "mx2")
            let mail = try Self.compile(text, host: "mail")
            let records = MailuDNS.records(try #require(MailuSettings.of(mx2.spec)), dkimPublicKeys: [:])
            #expect(records.contains { $0.purpose == "DKIM" && $0.record == nil })
            let onBackup = MailuDNS.checkable(records, keepsKeys: !mx2.explicit.keys.isEmpty)
            #expect(onBackup.count == records.count - 1 && !onBackup.contains { $0.purpose == "DKIM" })
            #expect(MailuDNS.checkable(records, keepsKeys: !mail.explicit.keys.isEmpty).count == records.count)
        }

        @Test func theMTASTSPolicyNamesBothMX() throws {
            var settings = MailuSettings()
            settings.hostnames = ["mail.example.com"]
            settings.mtaSTS = MailuSettings.MTASTS()
            settings.backupMX = [
                HostSpec(
                    name: "mx2", address: "", subnet: "10.91.0.0/24", gateway: "10.91.0.1", containers: [],
                    role: .backupMX, hostname: "mx2.example.com", publicIPv4: "198.51.100.20",
                    location: SourceLocation(file: "mailroom.yaml", line: 1, column: 1))
            ]
            let policy = try #require(MailuDNS.mtaSTSPolicy(settings))
            #expect(policy.contains("mx: mail.example.com\nmx: mx2.example.com\n"))
        }

        static func hosts(_ mx2: String) throws -> String {
            try PureTests.HostsTests.withHosts("hosts:\n  mail: {address: 10.0.0.1}\n  mx2: \(mx2)\n\n")
        }

        static func problems(_ mx2: String) throws -> [String] {
            PureTests.HostsTests.diagnostics(try hosts(mx2)).map { "\($0.field): \($0.message)" }
        }

        @Test func whatABackupMXMustSayAndMayNot() throws {
            #expect(
                try Self.problems("{role: backup-mx}") == [
                    "hosts.mx2.subnet: a backup MX needs a container subnet of its own",
                    "hosts.mx2.hostname: 'hostname' is required",
                    "hosts.mx2.public_ipv4: 'public_ipv4' is required",
                ])
            let complete =
                "role: backup-mx, subnet: 10.91.0.0/24, hostname: mx2.example.com, public_ipv4: 198.51.100.20"
            #expect(try Self.problems("{\(complete)}") == [])
            #expect(
                try Self.problems("{\(complete), containers: [mailu-webdav]}") == [
                    "hosts.mx2.containers: a backup MX runs the profile's receiving set, not containers of the deployment"
                ])
            #expect(
                try Self.problems("{\(complete), subnet6: \"fd00::1:8:100/120\"}") == [
                    "hosts.mx2.subnet6: the backup MX's subnet6 fd00::1:8:100/120 lies inside the primary's network.subnet6 fd00::1:8:0/112"
                ])
            #expect(
                try Self.problems("{address: 10.0.0.2, hostname: mx2.example.com}") == [
                    "hosts.mx2.hostname: only a backup MX has a public name of its own"
                ])
            let onlyBackups = try PureTests.HostsTests.withHosts(
                "hosts:\n  mx2: {\(complete)}\n\n")
            #expect(
                PureTests.HostsTests.diagnostics(onlyBackups, host: "mx2").map(\.message).contains(
                    "every host is a backup MX: none runs the deployment"))
        }

        @Test func aSmallBackupIsWarned() throws {
            let text = try Self.hosts(
                "{role: backup-mx, subnet: 10.91.0.0/24, hostname: mx2.example.com, public_ipv4: 198.51.100.20, memory: 1g}"
            )
            let mx2 = try Self.compile(text, host: "mx2")
            let warnings = mx2.explicit.layout?.warnings["mx2"] ?? []
            #expect(warnings.count == 1)
            #expect(warnings.first?.contains("a backup MX needs about 2048 MiB") == true)
        }
    }
}
