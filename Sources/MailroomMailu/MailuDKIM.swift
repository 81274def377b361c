import MailroomSpec
import MailroomSupport

/// Mailu's DKIM keys: one per domain, at `<mailu.root>/dkim/<domain>.<selector>.key` (the admin
/// container's `/dkim`), one selector for every domain, and the TXT record its public half needs.
public enum MailuDKIM {
    public struct Key: Sendable, Equatable, Codable {
        public var domain: String
        public var selector: String
        /// On the host.
        public var path: String
    }

    /// The key of every domain of the spec, in `domains:` order.
    public static func keys(_ settings: MailuSettings) -> [Key] {
        settings.domains.map { domain in
            Key(
                domain: domain, selector: MailSettings.dkimSelector(settings),
                path: MailSettings.dkimKeyPath(settings, domain: domain))
        }
    }

    /// `{selector}._domainkey.{domain}. 600 IN TXT "v=DKIM1; k=rsa; p={key}"`, as Mailu's admin shows it.
    public static func record(domain: String, selector: String, publicKey: String) -> TXTRecord {
        TXTRecord(name: "\(selector)._domainkey.\(domain).", ttl: 600, value: "v=DKIM1; k=rsa; p=\(publicKey)")
    }
}

/// A TXT record; values longer than one DNS string (255 bytes) are published split.
public struct TXTRecord: Sendable, Equatable, Codable {
    public var name: String
    public var ttl: Int
    public var value: String

    /// The value in quoted strings of at most 250 characters, as Mailu splits it: what a zone
    /// file or a provider that takes the split form needs.
    public var chunks: [String] { value.isEmpty ? [] : TXTStrings.split(value) }

    /// One zone-file line: `name ttl IN TXT "chunk" "chunk"`.
    public var zoneLine: String {
        "\(name) \(ttl) IN TXT " + chunks.map { "\"\($0)\"" }.joined(separator: " ")
    }
}
