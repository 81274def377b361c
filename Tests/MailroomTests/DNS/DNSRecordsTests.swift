import Foundation
import Testing

@testable import MailroomMailu
@testable import MailroomSpec
@testable import MailroomSupport
@testable import MailroomTestSupport

extension PureTests {
    /// `mailroom dns`: the records computed from the spec, against the guide's DNS chapter.
    @Suite(.tags(.pure)) struct DNSRecordsTests {
        /// The guide's DNS chapter, verbatim (Tests/MailroomTests/Fixtures/guide-dns-records.txt),
        /// read into records with soraharu.com replaced by example.com as in examples/seed-guide.
        /// The guide leaves out the TTL of two records (TLSA, CNAME): nil there.
        static func guideRecords() throws -> [(record: DNSRecord, ttlGiven: Bool)] {
            let text = try String(
                contentsOfFile: Fixtures.repositoryRoot + "/Tests/MailroomTests/Fixtures/guide-dns-records.txt",
                encoding: .utf8
            ).replacingOccurrences(of: "soraharu.com", with: "example.com")
            var result: [(DNSRecord, Bool)] = []
            for block in text.components(separatedBy: "\n\n") {
                var fields: [String: String] = [:]
                for line in block.split(separator: "\n") {
                    let trimmed = line.trimmingCharacters(in: .whitespaces)
                    guard trimmed.hasPrefix("- "), let colon = trimmed.firstIndex(of: "：") else { continue }
                    fields[String(trimmed[trimmed.index(trimmed.startIndex, offsetBy: 2)..<colon])] = String(
                        trimmed[trimmed.index(after: colon)...])
                }
                guard let type = fields["DNS 记录类型"], let name = fields["名称"] else { continue }
                let rdata: String
                switch type {
                case "MX": rdata = "\(fields["优先级"]!) \(fields["邮件服务器"]!)."
                case "TXT": rdata = TXTStrings.quoted([fields["内容"]!])
                case "TLSA": rdata = "\(fields["使用情况"]!) \(fields["选择器"]!) \(fields["匹配类型"]!) \(fields["证书"]!)"
                case "SRV": rdata = "\(fields["优先级"]!) \(fields["权重"]!) \(fields["端口"]!) \(fields["目标"]!)."
                case "CNAME": rdata = "\(fields["目标"]!)."
                default: throw TestSetupError("the guide lists an unknown record type \(type)")
                }
                let ttl = fields["TTL"].flatMap { Int($0) }
                result.append((DNSRecord(name: name, type: type, ttl: ttl ?? 0, rdata: rdata), ttl != nil))
            }
            return result
        }

        static func seedGuideSettings() throws -> MailuSettings {
            try #require(try Fixtures.compileSeedGuide().spec.settings as? MailuSettings)
        }

        @Test func seedGuidePrintsExactlyTheGuidesRecords() throws {
            let guide = try Self.guideRecords()
            #expect(guide.count == 14, "the guide lists MX, SPF, DKIM, two DMARC, TLSA, seven SRV and a CNAME")
            let guideKey = try #require(
                guide.first { $0.record.name.hasPrefix("dkim._domainkey.") }?.record.value.components(
                    separatedBy: "p="
                ).last)
            let ours = MailuDNS.records(try Self.seedGuideSettings(), dkimPublicKeys: ["example.com": guideKey])
                .filter { $0.domain == "example.com" }.compactMap(\.record)
            #expect(ours.count == guide.count)
            for (index, (expected, ttlGiven)) in guide.enumerated() where index < ours.count {
                let record = ours[index]
                #expect(record.name == expected.name && record.type == expected.type)
                #expect(record.value == expected.value, "\(expected.name) \(expected.type)")
                if ttlGiven { #expect(record.ttl == expected.ttl, "TTL of \(expected.name) \(expected.type)") }
            }
        }

        @Test func hostRecordsAndPendingDKIM() throws {
            var settings = try Self.seedGuideSettings()
            settings.publicIPv6 = "2001:db8::10"
            let records = MailuDNS.records(settings, dkimPublicKeys: [:])
            let dkim = try #require(records.first { $0.purpose == "DKIM" })
            #expect(dkim.record == nil)
            #expect(dkim.pending?.hasPrefix("key not created yet") == true)
            let host = records.filter { $0.domain == "mail.example.com" }.compactMap(\.record).map(\.zoneLine)
            #expect(
                host == [
                    "mail.example.com. 600 IN A 203.0.113.10", "mail.example.com. 600 IN AAAA 2001:db8::10",
                    "10.113.0.203.in-addr.arpa. 600 IN PTR mail.example.com.",
                    "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 600 IN PTR mail.example.com.",
                ])
        }

        @Test func plainTLSHasNoTLSAAndOnlyThePlainServices() throws {
            var settings = try Self.seedGuideSettings()
            settings.tlsFlavor = "notls"
            let purposes = MailuDNS.records(settings, dkimPublicKeys: [:]).map(\.purpose)
            #expect(!purposes.contains("TLSA"))
            #expect(purposes.filter { $0.hasPrefix("SRV") } == ["SRV imap", "SRV pop3", "SRV submission"])
        }

        @Test func secondDomainAuthorisesReportsInTheMainZone() throws {
            var settings = try Self.seedGuideSettings()
            settings.domains.append("example.org")
            let report = MailuDNS.records(settings, dkimPublicKeys: [:]).filter { $0.purpose == "DMARC report" }
            #expect(
                report.compactMap(\.record?.name) == [
                    "example.com._report._dmarc.example.com.", "example.org._report._dmarc.example.com.",
                ])
        }

        @Test func longTXTIsSplitAt250AndJoinedBack() {
            let text = String(repeating: "a", count: 400) + "\"\\"
            let record = DNSRecord.txt(name: "x.example.com", ttl: 600, text: text)
            #expect(record.rdata.hasPrefix("\"" + String(repeating: "a", count: 250) + "\" \""))
            #expect(record.value == text)
            #expect(TXTStrings.joined("\"v=spf1 \" \"-all\"") == "v=spf1 -all")
            #expect(TXTStrings.joined("\"a\\034b\"") == "a\"b")
        }

        @Test func publicIPv6MustBeIPv6() {
            let spec = try! String(contentsOfFile: Fixtures.seedGuide + "/mailroom.yaml", encoding: .utf8)
                .replacingOccurrences(
                    of: "  public_ipv4: 203.0.113.10\n",
                    with: "  public_ipv4: 203.0.113.10\n  public_ipv6: 203.0.113.11\n")
            let diagnostics = Fixtures.diagnostics(spec)
            #expect(diagnostics.map(\.field) == ["mailu.public_ipv6"])
        }
    }
}

extension PureTests {
    /// `mailu.mta_sts`: the policy, its records, and the Caddy site that serves it.
    @Suite(.tags(.pure)) struct MTASTSRecordsTests {
        static func spec(_ mtaSTS: String) throws -> String {
            try String(contentsOfFile: Fixtures.seedGuide + "/mailroom.yaml", encoding: .utf8).replacingOccurrences(
                of: "  tls_flavor: mail-letsencrypt\n", with: "  tls_flavor: mail-letsencrypt\n" + mtaSTS)
        }

        @Test func policyRecordsAndSite() throws {
            let compiled = try Fixtures.compile(try Self.spec("  mta_sts: {mode: enforce, max_age: 86400}\n"))
            let settings = try #require(compiled.spec.settings as? MailuSettings)
            let policy = try #require(MailuDNS.mtaSTSPolicy(settings))
            #expect(policy == "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\n")
            let records = MailuDNS.records(settings, dkimPublicKeys: [:]).compactMap(\.record)
            let sts = try #require(records.first { $0.name == "_mta-sts.example.com." })
            #expect(sts.value.hasPrefix("v=STSv1; id=") && sts.value.count == "v=STSv1; id=".count + 20)
            #expect(
                records.contains(
                    DNSRecord(name: "mta-sts.example.com", type: "CNAME", ttl: 600, rdata: "mail.example.com.")))
            #expect(
                records.contains(
                    .txt(
                        name: "_smtp._tls.example.com", ttl: 600, text: "v=TLSRPTv1; rua=mailto:postmaster@example.com")
                ))
            let site = try #require(
                compiled.desired.files.first { $0.path.hasSuffix("/site/mta-sts.example.com.Caddyfile") })
            #expect(site.content.contains("respond \"\(policy)\" 200"))

            // Another policy text, another id: senders fetch the policy again.
            let testing = try Fixtures.compile(try Self.spec("  mta_sts: {mode: testing}\n"))
            let other = MailuDNS.records(try #require(testing.spec.settings as? MailuSettings), dkimPublicKeys: [:])
                .compactMap(\.record).first { $0.name == "_mta-sts.example.com." }
            #expect(other != nil && other?.value != sts.value)
        }

        @Test func offByDefaultAndBadValuesNamed() throws {
            let settings = try #require(try Fixtures.compileSeedGuide().spec.settings as? MailuSettings)
            #expect(MailuDNS.mtaSTSPolicy(settings) == nil)
            #expect(!MailuDNS.records(settings, dkimPublicKeys: [:]).contains { $0.purpose.hasPrefix("MTA-STS") })
            let problems = Fixtures.diagnostics(try Self.spec("  mta_sts: {mode: strict, max_age: 0}\n"))
            #expect(problems.map(\.field) == ["mailu.mta_sts.mode", "mailu.mta_sts.max_age"])
        }
    }
}
