import Crypto
import MailroomSpec
import MailroomSupport

/// Every DNS record a Mailu deployment needs, as Mailu 2.0's admin shows them per domain
/// (models.py `Domain.dns_*`), plus what Mailu leaves to the operator: the hostnames' A/AAAA
/// and the public addresses' PTR.
public enum MailuDNS {
    /// Mailu's TTL for every record but TLSA.
    static let ttl = 600

    /// The records for every domain of `settings`, in `domains:` order, then the host's own.
    /// `dkimPublicKeys` maps a domain to the base64 public half of its DKIM key; a domain
    /// without one gets a pending DKIM entry (the key is created on the first apply).
    public static func records(_ settings: MailuSettings, dkimPublicKeys: [String: String]) -> [RequiredRecord] {
        let host = DNSName.absolute(settings.hostnames.first ?? "")
        var result: [RequiredRecord] = []
        for domain in settings.domains {
            func add(_ purpose: String, _ record: DNSRecord) {
                result.append(RequiredRecord(purpose: purpose, domain: domain, record: record))
            }
            add("MX", DNSRecord(name: domain, type: "MX", ttl: ttl, rdata: "10 \(host)"))
            // Each backup MX after the primary, in `hosts:` order: senders try it when the primary fails.
            for (index, backup) in settings.backupMX.enumerated() {
                let target = DNSName.absolute(backup.hostname ?? "")
                add(
                    "MX (backup \(backup.name))",
                    DNSRecord(name: domain, type: "MX", ttl: ttl, rdata: "\(20 + 10 * index) \(target)"))
            }
            add("SPF", .txt(name: domain, ttl: ttl, text: "v=spf1 mx a:\(DNSName.relaxed(host)) ~all"))
            let selector = MailSettings.dkimSelector(settings)
            let dkimName = "\(selector)._domainkey.\(domain)"
            if let key = dkimPublicKeys[domain] {
                add(
                    "DKIM",
                    .txt(
                        name: dkimName, ttl: ttl,
                        text: MailuDKIM.record(domain: domain, selector: selector, publicKey: key).value))
            } else {
                result.append(
                    RequiredRecord(
                        purpose: "DKIM", domain: domain, name: dkimName, type: "TXT",
                        pending:
                            "key not created yet: apply creates it (\(MailSettings.dkimKeyPath(settings, domain: domain)))"
                    ))
            }
            add("DMARC", .txt(name: "_dmarc.\(domain)", ttl: ttl, text: dmarc(settings)))
            add(
                "DMARC report",
                .txt(name: "\(domain)._report._dmarc.\(settings.mainDomain)", ttl: ttl, text: "v=DMARC1;"))
            if ["letsencrypt", "mail-letsencrypt"].contains(settings.tlsFlavor) {
                // ISRG Root X1's public key (usage 2, selector 1, SHA-256): stable across renewals.
                // Every MX gets one: a sender checks the host it delivers to.
                for mx in [host] + settings.backupMX.map({ DNSName.absolute($0.hostname ?? "") }) {
                    add(
                        "TLSA",
                        DNSRecord(
                            name: "_25._tcp.\(mx)", type: "TLSA", ttl: 86400,
                            rdata: "2 1 1 0b9fa5a59eed715c26c1020c711b4f6ec42d58b0015e14337a39dad301c5afc3"))
                }
            }
            for service in services(tlsFlavor: settings.tlsFlavor) {
                add(
                    "SRV \(service.name)",
                    DNSRecord(
                        name: "_\(service.name)._tcp.\(domain)", type: "SRV", ttl: ttl,
                        rdata: "\(service.priority) 1 \(service.port) \(host)"))
            }
            add("autoconfig", DNSRecord(name: "autoconfig.\(domain)", type: "CNAME", ttl: ttl, rdata: host))
            if let policy = mtaSTSPolicy(settings) {
                // The policy's id changes with its text, which tells senders to fetch it again.
                let id = hex(SHA256.hash(data: Array(policy.utf8))).prefix(20)
                add("MTA-STS", .txt(name: "_mta-sts.\(domain)", ttl: ttl, text: "v=STSv1; id=\(id)"))
                add("MTA-STS site", DNSRecord(name: "mta-sts.\(domain)", type: "CNAME", ttl: ttl, rdata: host))
                add(
                    "TLS-RPT",
                    .txt(
                        name: "_smtp._tls.\(domain)", ttl: ttl,
                        text: "v=TLSRPTv1; rua=mailto:\(settings.postmaster)@\(settings.mainDomain)"))
            }
        }
        result += hostRecords(settings)
        return result
    }

    /// The hostnames' A and AAAA records and the PTR each public address needs (the first
    /// hostname), then each backup MX's.
    public static func hostRecords(_ settings: MailuSettings) -> [RequiredRecord] {
        var result = ownHostRecords(settings)
        for backup in settings.backupMX {
            var own = settings
            own.hostnames = [backup.hostname ?? ""]
            own.publicIPv4 = backup.publicIPv4 ?? ""
            own.publicIPv6 = backup.publicIPv6 ?? ""
            result += ownHostRecords(own)
        }
        return result
    }

    private static func ownHostRecords(_ settings: MailuSettings) -> [RequiredRecord] {
        var result: [RequiredRecord] = []
        let addresses = [settings.publicIPv4, settings.publicIPv6].compactMap { IPAddress($0) }
        for hostname in settings.hostnames {
            for address in addresses {
                result.append(
                    RequiredRecord(
                        purpose: address.isV6 ? "AAAA" : "A", domain: hostname,
                        record: DNSRecord(
                            name: hostname, type: address.isV6 ? "AAAA" : "A", ttl: ttl, rdata: "\(address)")))
            }
        }
        if let first = settings.hostnames.first {
            for address in addresses {
                result.append(
                    RequiredRecord(
                        purpose: "PTR", domain: first,
                        record: DNSRecord(
                            name: DNSName.reverse(address), type: "PTR", ttl: ttl, rdata: DNSName.absolute(first))))
            }
        }
        return result
    }

    /// The records a host can check: one that keeps no DKIM key (another host runs the admin,
    /// or it is a backup MX) leaves the DKIM records it cannot compute to the host that keeps them.
    public static func checkable(_ records: [RequiredRecord], keepsKeys: Bool) -> [RequiredRecord] {
        records.filter { $0.record != nil || keepsKeys }
    }

    /// The MTA-STS policy file (`/.well-known/mta-sts.txt`, RFC 8461) when `mailu.mta_sts` is
    /// set: the hostnames are the MX hosts senders may deliver to.
    public static func mtaSTSPolicy(_ settings: MailuSettings) -> String? {
        guard let sts = settings.mtaSTS else { return nil }
        let hosts = settings.hostnames + settings.backupMX.compactMap(\.hostname)
        let mx = hosts.map { "mx: \($0)\n" }.joined()
        return "version: STSv1\nmode: \(sts.mode)\n\(mx)max_age: \(sts.maxAge)\n"
    }

    /// `v=DMARC1; p=reject; rua=…; ruf=…; adkim=s; aspf=s`; reports go to the postmaster of the main domain.
    static func dmarc(_ settings: MailuSettings) -> String {
        var parts = ["v=DMARC1", "p=reject"]
        if !settings.postmaster.isEmpty {
            let address = "\(settings.postmaster)@\(settings.mainDomain)"
            parts += ["rua=mailto:\(address)", "ruf=mailto:\(address)"]
        }
        return (parts + ["adkim=s", "aspf=s"]).joined(separator: "; ")
    }

    /// RFC 6186 services in Mailu's order: the plain ones, then (with TLS) the implicit-TLS ones.
    static func services(tlsFlavor: String) -> [(name: String, port: Int, priority: Int)] {
        var services = [("imap", 143, 20), ("pop3", 110, 20), ("submission", 587, 20)]
        if tlsFlavor != "notls" {
            services += [("autodiscover", 443, 10), ("submissions", 465, 10), ("imaps", 993, 10), ("pop3s", 995, 10)]
        }
        return services.map { (name: $0.0, port: $0.1, priority: $0.2) }
    }
}
