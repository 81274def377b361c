import Foundation
import MailroomSupport

/// The host's own DNS, for `mailroom doctor` and the agent: the public addresses' PTR is the
/// first hostname, the hostname's A/AAAA are the public addresses, and the addresses are on
/// no common DNS blacklist.
public enum HostDNSChecks {
    /// Blacklists queried through DNS by default. Spamhaus refuses queries that come through
    /// large public resolvers (127.255.255.x answers): ask through your own.
    public static let commonBlacklists = ["zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org"]

    /// The checks for `hostname` (the first of the deployment's hostnames) and its public
    /// `addresses`, through `client`; `blacklists` are DNSBL zones (tests pass a local one).
    package static func run(
        hostname: String, addresses: [IPAddress], client: DNSClient, blacklists: [String] = commonBlacklists
    ) -> [LiveCheckResult] {
        var required: [RequiredRecord] = []
        for address in addresses {
            let type = address.isV6 ? "AAAA" : "A"
            required.append(
                RequiredRecord(
                    purpose: type, domain: hostname,
                    record: DNSRecord(name: hostname, type: type, ttl: 600, rdata: "\(address)")))
        }
        for address in addresses {
            required.append(
                RequiredRecord(
                    purpose: "PTR", domain: hostname,
                    record: DNSRecord(
                        name: DNSName.reverse(address), type: "PTR", ttl: 600, rdata: DNSName.absolute(hostname))))
        }
        var results = required.map { DNSCheck.record($0, client: client) }
        for address in addresses {
            for list in blacklists { results.append(blacklist(address, list: list, client: client)) }
        }
        return results
    }

    /// The same checks on a thread of their own: ldns blocks while it waits for answers, which
    /// must not hold one of the cooperative pool's few threads (the agent's listener runs there).
    package static func run(
        hostname: String, addresses: [IPAddress], client: DNSClient, blacklists: [String] = commonBlacklists
    ) async -> [LiveCheckResult] {
        await offThePool { run(hostname: hostname, addresses: addresses, client: client, blacklists: blacklists) }
    }

    /// Whether `address` is listed on the DNSBL `list`: an A record at its reversed name
    /// under the list's zone means listed, NXDOMAIN means not.
    package static func blacklist(_ address: IPAddress, list: String, client: DNSClient) -> LiveCheckResult {
        let reversed = DNSName.reverse(address)
        let suffix = address.isV6 ? ".ip6.arpa." : ".in-addr.arpa."
        let query = String(reversed.dropLast(suffix.count)) + "." + DNSName.absolute(list)
        let name = "blacklist \(DNSName.relaxed(list)) \(address)"
        func result(_ verdict: LiveCheckResult.Verdict, _ detail: String, fix: String? = nil) -> LiveCheckResult {
            LiveCheckResult(group: "blacklist", name: name, verdict: verdict, detail: detail, fix: fix)
        }
        do {
            let answer = try client.query(query, "A")
            let codes = answer.records("A").map(\.rdata)
            if answer.rcode == "NXDOMAIN" || (answer.rcode == "NOERROR" && codes.isEmpty) {
                return result(.ok, "\(address) is not listed on \(DNSName.relaxed(list))")
            }
            guard answer.rcode == "NOERROR" else {
                return result(.error, "\(client.serversText) answered \(answer.rcode) for \(query)")
            }
            if codes.contains(where: { $0.hasPrefix("127.255.255.") }) {
                return result(
                    .error, "\(DNSName.relaxed(list)) refused the query (\(codes.joined(separator: ", ")))",
                    fix: "the list blocks queries through public resolvers; check through your own resolver")
            }
            return result(
                .wrong, "\(address) is listed on \(DNSName.relaxed(list)) (\(codes.joined(separator: ", ")))",
                fix:
                    "look the address up on the list's web site and request its removal; find out why it was listed first"
            )
        } catch {
            return result(.error, "\(error)")
        }
    }
}
