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
