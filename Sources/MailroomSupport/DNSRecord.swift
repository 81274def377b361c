/// One DNS resource record in presentation form: what a zone file line holds. Names are
/// absolute (a trailing dot) and lowercase; `rdata` is the record data as a zone file writes it
/// (TXT as quoted strings). Nothing here knows which application needs the record.
public struct DNSRecord: Sendable, Hashable, Codable {
    public var name: String
    public var type: String
    public var ttl: Int
    public var rdata: String

    public init(name: String, type: String, ttl: Int, rdata: String) {
        self.name = DNSName.absolute(name)
        self.type = type.uppercased()
        self.ttl = ttl
        self.rdata = rdata
    }

    /// A TXT record holding `text`, split into strings of at most 250 characters (a DNS string
    /// holds 255 bytes; 250 is where Mailu splits, and what providers that take the split form show).
    public static func txt(name: String, ttl: Int, text: String) -> DNSRecord {
        DNSRecord(name: name, type: "TXT", ttl: ttl, rdata: TXTStrings.quoted(TXTStrings.split(text)))
    }

    /// `name ttl IN type rdata`: one zone-file line, as BIND, Knot and NSD read it.
    public var zoneLine: String { "\(name) \(ttl) IN \(type) \(rdata)" }

    /// The value as a person types it into a provider's form: TXT strings joined into one,
    /// unquoted; other types as `rdata`.
    public var value: String { type == "TXT" ? TXTStrings.joined(rdata) : rdata }

    /// Whether two records carry the same data, ignoring the TTL, letter case in names and
    /// how a TXT value is split into strings.
    public func sameData(as other: DNSRecord) -> Bool {
        guard DNSName.equal(name, other.name), type == other.type else { return false }
        if type == "TXT" { return value == other.value }
        return DNSRecord.normalized(rdata, type: type) == DNSRecord.normalized(other.rdata, type: type)
    }

    /// Rdata compared field by field: names and hex digits ignore case, spacing is one blank.
    private static func normalized(_ rdata: String, type: String) -> String {
        rdata.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { $0.lowercased() }.joined(separator: " ")
    }
}

/// Domain names in the form DNSRecord keeps: absolute, lowercase.
public enum DNSName {
    public static func absolute(_ name: String) -> String {
        let lower = name.lowercased()
        return lower.hasSuffix(".") ? lower : lower + "."
    }

    public static func equal(_ a: String, _ b: String) -> Bool { absolute(a) == absolute(b) }

    /// Whether `name` is `zone` or below it.
    public static func isWithin(_ name: String, zone: String) -> Bool {
        let name = absolute(name)
        let zone = absolute(zone)
        return zone == "." || name == zone || name.hasSuffix("." + zone)
    }

    /// The name without the trailing dot, as people write it.
    public static func relaxed(_ name: String) -> String {
        name.hasSuffix(".") && name.count > 1 ? String(name.dropLast()) : name
    }

    /// The reverse-lookup name of an address: `10.113.0.203.in-addr.arpa.`, or the nibbles
    /// under `ip6.arpa.` for IPv6.
    public static func reverse(_ address: IPAddress) -> String {
        switch address {
        case .v4(let value):
            return "\(value & 0xff).\(value >> 8 & 0xff).\(value >> 16 & 0xff).\(value >> 24).in-addr.arpa."
        case .v6(let high, let low):
            let nibbles =
                (0..<16).map { String(low >> (4 * UInt64($0)) & 0xf, radix: 16) }
                + (0..<16).map { String(high >> (4 * UInt64($0)) & 0xf, radix: 16) }
            return nibbles.joined(separator: ".") + ".ip6.arpa."
        }
    }
}

/// The character strings of a TXT record in presentation form.
public enum TXTStrings {
    public static func split(_ text: String, size: Int = 250) -> [String] {
        var chunks: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            chunks.append(String(rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        return chunks.isEmpty ? [""] : chunks
    }

    /// `"a" "b"`, with `"` and `\` escaped.
    public static func quoted(_ strings: [String]) -> String {
        strings.map { string in
            "\"" + string.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"") + "\""
        }.joined(separator: " ")
    }

    /// The strings of a presentation-form rdata (`"a" "b"` or a bare word), joined and unescaped.
    public static func joined(_ rdata: String) -> String {
        var result = ""
        var inQuotes = false
        var escaped = false
        var digits = ""
        for character in rdata {
            if !digits.isEmpty || (escaped && character.isASCII && character.isNumber) {
                digits.append(character)
                escaped = false
                if digits.count == 3 {
                    if let code = UInt8(digits), code < 128 { result.append(Character(Unicode.Scalar(code))) }
                    digits = ""
                }
                continue
            }
            if escaped {
                result.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                inQuotes.toggle()
            } else if inQuotes || !(character == " " || character == "\t") {
                result.append(character)
            }
        }
        return result
    }
}

/// A record a deployment needs, with what it is for. `record` is nil while it cannot be
/// computed yet (a key that does not exist); `pending` then says why.
public struct RequiredRecord: Sendable, Equatable, Codable {
    /// What the record does, in a word or two: `MX`, `SPF`, `DKIM`, `SRV imaps`, `PTR`.
    public var purpose: String
    /// The mail domain it serves, or the host name for the host's own records.
    public var domain: String
    public var record: DNSRecord?
    public var pending: String?
    /// The name it would have when `record` is nil.
    public var name: String
    public var type: String

    public init(purpose: String, domain: String, record: DNSRecord) {
        self.purpose = purpose
        self.domain = domain
        self.record = record
        self.pending = nil
        self.name = record.name
        self.type = record.type
    }

    public init(purpose: String, domain: String, name: String, type: String, pending: String) {
        self.purpose = purpose
        self.domain = domain
        self.record = nil
        self.pending = pending
        self.name = DNSName.absolute(name)
        self.type = type
    }
}
