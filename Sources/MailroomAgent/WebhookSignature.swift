import Crypto
import Foundation
import MailroomSupport

/// HMAC-SHA256 webhook signatures, as GitHub (`X-Hub-Signature-256: sha256=<hex>`) and
/// Gitea (`X-Gitea-Signature: <hex>`) send them.
public struct WebhookSignature: Sendable {
    private let secret: Data
    private var key: SymmetricKey { SymmetricKey(data: secret) }

    public init(secret: Data) {
        self.secret = secret
    }

    /// Reads the secret from a file; surrounding whitespace (a trailing newline) is not part of it.
    public init(secretFile: String) throws {
        guard let data = FileManager.default.contents(atPath: secretFile) else {
            throw AgentError("cannot read the webhook secret file \(secretFile)")
        }
        let trimmed = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw AgentError("the webhook secret file \(secretFile) is empty") }
        self.init(secret: Data(trimmed.utf8))
    }

    /// `sha256=<hex>` for `body`.
    public func sign(_ body: Data) -> String {
        "sha256=" + HMAC<SHA256>.authenticationCode(for: body, using: key).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `header` (with or without the `sha256=` prefix) is the signature of `body`.
    /// The MAC is compared in constant time (`isValidAuthenticationCode`).
    public func verify(_ header: String?, body: Data) -> Bool {
        guard var hex = header?.trimmingCharacters(in: .whitespaces) else { return false }
        if hex.hasPrefix("sha256=") { hex.removeFirst("sha256=".count) }
        guard hex.count == 64, let mac = Self.bytes(hex) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: body, using: key)
    }

    static func bytes(_ hex: String) -> [UInt8]? {
        var out: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next() {
            guard let low = iterator.next(), let h = nibble(high), let l = nibble(low) else { return nil }
            out.append(h << 4 | l)
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// An agent failure that stops it from starting (bad secret file, listener in use).
public struct AgentError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
