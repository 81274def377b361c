import CGit2
import MailroomSupport

/// A git object id (commit or tree), as 40 lowercase hex digits.
public struct GitObjectID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// The full hex form.
    public let hex: String

    /// Accepts a full 40-digit hex id (any case); returns nil for anything else.
    public init?(_ hex: String) {
        let lower = hex.lowercased()
        guard lower.utf8.count == 40,
            lower.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else {
            return nil
        }
        self.hex = lower
    }

    init(_ oid: UnsafePointer<git_oid>) {
        self.hex = hexString(oid)
    }

    /// The first 12 digits, for logs and messages.
    public var short: String { String(hex.prefix(12)) }

    public var description: String { hex }

    public static func < (lhs: GitObjectID, rhs: GitObjectID) -> Bool { lhs.hex < rhs.hex }

    /// The libgit2 form.
    var oid: git_oid {
        var oid = git_oid()
        // Cannot fail: `hex` was validated on construction.
        _ = git_oid_fromstr(&oid, hex)
        return oid
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = GitObjectID(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(text)' is not a 40-digit object id")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}
