import ArgumentParser
import Foundation
import MailroomDNS
import MailroomMailu
import MailroomSpec
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
            --check queries each record through a resolver (--resolver, default the one of
            /etc/resolv.conf) and reports it ok, missing or wrong with the value to set, and
            each zone's DNSSEC state (AD bit from a validating resolver, DS at the parent).
            --update applies the records to an authoritative server (--server) by RFC 2136
            dynamic update signed with the TSIG key in the secrets file (--tsig-secret names
            the key; its value is [algorithm:]name:base64-secret, as knsupdate -y takes it).
            It prints the changes first (+ added, - deleted, ~ replaced); --dry-run stops
            there.
            Exit status: 0; 1 when a record cannot be computed yet, a check does not pass,
            or the update fails.
            Example:
              mailroom dns examples/seed-guide
              mailroom dns examples/seed-guide --output zone --zone example.com
              mailroom dns examples/seed-guide --check --resolver 127.0.0.1
              mailroom dns examples/seed-guide --update --server 192.0.2.53
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, zone, json
    }

    @OptionGroup var spec: SpecOptions
    @OptionGroup var state: StateOptions
    @Option(help: "Output format: table, zone or json.") var output: Format = .table
    @Option(help: "Only the records at or below this zone.") var zone: String?
    @Flag(help: "Query each record and report it ok, missing or wrong.") var check = false
    @Option(help: "The resolver --check asks, ADDRESS[:PORT] (default: /etc/resolv.conf's).") var resolver: String?
    @Flag(help: "Apply the records to an authoritative server by RFC 2136 dynamic update.") var update = false
    @Option(help: "The authoritative server --update changes, ADDRESS[:PORT].") var server: String?
    @Option(name: .customLong("secrets-file"), help: "KEY=value file holding the TSIG key (mode 0600).")
    var secretsFile: String = "/etc/mailroom/secrets.env"
    @Option(name: .customLong("tsig-secret"), help: "The secrets-file key whose value is the TSIG key.")
    var tsigSecret: String = "DNS_UPDATE_TSIG"
    @Flag(name: .customLong("dry-run"), help: "With --update: show the changes, send nothing.") var dryRun = false

    func validate() throws {
        if check && update { throw ValidationError("--check and --update are separate runs; give one") }
        if resolver != nil && !check { throw ValidationError("--resolver is for --check") }
        if let resolver, DNSServer(resolver) == nil {
            throw ValidationError("--resolver \(resolver) is not ADDRESS[:PORT] (an IP address, not a name)")
        }
        if (server != nil || dryRun) && !update { throw ValidationError("--server and --dry-run are for --update") }
        if update && server == nil { throw ValidationError("--update needs --server ADDRESS[:PORT]") }
        if let server, DNSServer(server) == nil {
            throw ValidationError("--server \(server) is not ADDRESS[:PORT] (an IP address, not a name)")
        }
        if (check || update) && output == .zone {
            throw ValidationError("--output zone lists records; not with --check or --update")
        }
    }

    func run() async throws {
        let settings = try await mailuSettings(spec: spec, state: state)
        var records = MailuDNS.records(settings, dkimPublicKeys: dkimPublicKeys(settings))
        if let zone { records = records.filter { DNSName.isWithin($0.name, zone: zone) } }
        if check { return try await runCheck(records) }
        if update { return try runUpdate(records) }
        switch output {
        case .json: try printJSON(records)
        case .zone: print(DNSListing.zoneFragment(records, zone: zone), terminator: "")
        case .table: print(DNSListing.table(records), terminator: "")
        }
        if records.contains(where: { $0.record == nil }) { throw ExitCode(1) }
    }
}

extension DNSCommand {
    func runCheck(_ records: [RequiredRecord]) async throws {
        let client = DNSClient(servers: resolver.flatMap(DNSServer.init).map { [$0] } ?? [])
        let results = await DNSCheck.run(records, client: client)
        if output == .json {
            try printJSON(results)
        } else {
            print(LiveCheckFormatter(color: useColor).format(results, title: "Mailroom DNS check"))
        }
        if !results.allSatisfy(\.verdict.passes) { throw ExitCode(1) }
    }

    func runUpdate(_ records: [RequiredRecord]) throws {
        guard let server = server.flatMap(DNSServer.init) else { throw ExitCode(64) }
        let client = DNSClient(servers: [server], recursive: false)
        let secrets = SecretValues.load(path: secretsFile, required: [tsigSecret], extraKeys: [])
        if let problem = secrets.problem { throw fail(problem) }
        guard let key = secrets[tsigSecret].flatMap(TSIGKey.init) else {
            throw fail(
                "\(secretsFile): \(tsigSecret) is not a TSIG key; write it as [algorithm:]name:base64-secret, e.g. hmac-sha256:mailroom:c2VjcmV0"
            )
        }
        do {
            let plan = try DNSUpdate.plan(records, client: client)
            let lines = DNSUpdate.describe(plan.changes)
            for record in plan.elsewhere {
                print(
                    "  \(record.type) \(DNSName.relaxed(record.name)): not served by \(server); set it where its zone is"
                )
            }
            for entry in records where entry.record == nil {
                print("  \(entry.type) \(DNSName.relaxed(entry.name)): \(entry.pending ?? "not computable yet")")
            }
            if lines.isEmpty {
                print("\(server): every record is in place; no changes.")
            } else {
                for line in lines { print(line) }
                if dryRun {
                    print("\(lines.count) change(s); --dry-run: nothing sent.")
                } else {
                    try DNSUpdate.apply(plan.changes, client: client, key: key)
                    print("\(server): \(lines.count) change(s) applied.")
                }
            }
        } catch {
            throw fail("\(error)")
        }
        if records.contains(where: { $0.record == nil }) { throw ExitCode(1) }
    }

    private func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("mailroom: \(message)\n".utf8))
        return ExitCode(1)
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
