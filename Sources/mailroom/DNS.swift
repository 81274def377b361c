import ArgumentParser
import Foundation
import MailroomMailu
import MailroomSupport

struct DNSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns",
        abstract: "Every DNS record the mail domains need; check them live, or apply them by RFC 2136.",
        discussion: """
            The records are computed from the spec and this host: MX, SPF, DKIM (from the
            key file; "key not created yet" before the first apply), DMARC and its report
            authorisation in the main domain's zone, TLSA, the RFC 6186 SRV set for the
            TLS flavour, the autoconfig CNAME, the hostnames' A/AAAA and the expected PTR.
            --output zone prints a zone-file fragment (absolute names) that BIND, Knot and
            NSD load unchanged; --zone keeps only the records at or below one zone (the
            PTR is commented out unless --zone names its reverse zone).
            Exit status: 0, or 1 when a record cannot be computed yet.
            Example:
              mailroom dns examples/seed-guide
              mailroom dns examples/seed-guide --output zone --zone example.com
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, zone, json
    }

    @OptionGroup var spec: SpecOptions
    @OptionGroup var state: StateOptions
    @Option(help: "Output format: table, zone or json.") var output: Format = .table
    @Option(help: "Only the records at or below this zone.") var zone: String?

    func run() async throws {
        let settings = try await mailuSettings(spec: spec, state: state)
        var records = MailuDNS.records(settings, dkimPublicKeys: dkimPublicKeys(settings))
        if let zone { records = records.filter { DNSName.isWithin($0.name, zone: zone) } }
        switch output {
        case .json: try printJSON(records)
        case .zone: print(DNSListing.zoneFragment(records, zone: zone), terminator: "")
        case .table: print(DNSListing.table(records), terminator: "")
        }
        if records.contains(where: { $0.record == nil }) { throw ExitCode(1) }
    }
}

/// The public half of each domain's DKIM key that exists on this host, by domain.
func dkimPublicKeys(_ settings: MailuSettings) -> [String: String] {
    var keys: [String: String] = [:]
    for key in MailuDKIM.keys(settings) where FileManager.default.fileExists(atPath: key.path) {
        keys[key.domain] = try? RSAKeyFile.publicKeyBase64(at: key.path)
    }
    return keys
}

/// How `mailroom dns` prints records.
enum DNSListing {
    /// One line per record under a heading per domain: purpose, name, type, the value as typed
    /// into a provider's form (a long TXT value in one piece), TTL.
    static func table(_ records: [RequiredRecord]) -> String {
        let purposeWidth = records.map(\.purpose.count).max() ?? 0
        let nameWidth = records.map { DNSName.relaxed($0.name).count }.max() ?? 0
        var text = ""
        var domain: String?
        for entry in records {
            if entry.domain != domain {
                text += (domain == nil ? "" : "\n") + entry.domain + "\n"
                domain = entry.domain
            }
            let columns = [
                entry.purpose.padding(purposeWidth), DNSName.relaxed(entry.name).padding(nameWidth),
                entry.type.padding(5),
            ]
            if let record = entry.record {
                text += "  " + (columns + ["\(record.ttl)".padding(5), record.value]).joined(separator: "  ") + "\n"
            } else {
                text += "  " + (columns + [entry.pending ?? ""]).joined(separator: "  ") + "\n"
            }
        }
        return text
    }

    /// Zone-file lines with absolute names, a comment per domain. A PTR belongs to the
    /// address's reverse zone, run by whoever owns the address: it is commented out unless
    /// `zone` is that zone. A record not computable yet is a comment saying why.
    static func zoneFragment(_ records: [RequiredRecord], zone: String?) -> String {
        var text = "; DNS records for the mail domains (mailroom dns)\n"
        var domain: String?
        for entry in records {
            if entry.domain != domain {
                text += "\n; \(entry.domain)\n"
                domain = entry.domain
            }
            guard let record = entry.record else {
                text += "; \(entry.purpose) \(entry.name) \(entry.type): \(entry.pending ?? "")\n"
                continue
            }
            if record.type == "PTR" && zone == nil {
                text += "; set by the owner of the address (often in the provider's panel):\n; \(record.zoneLine)\n"
            } else {
                text += record.zoneLine + "\n"
            }
        }
        return text
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
