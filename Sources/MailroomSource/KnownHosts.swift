import Crypto
import Foundation

/// An OpenSSH `known_hosts` file, used to decide whether to trust an SSH server's host key.
///
/// Supports plain and hashed (`|1|salt|hash`) host names, `[host]:port`, `*`/`?` wildcards,
/// `!` negation and `@revoked`. `@cert-authority` lines are skipped: host certificates are
/// not accepted, only keys listed directly.
struct KnownHosts: Sendable {
    struct Entry: Sendable {
        enum Hosts: Sendable {
            case patterns([String])
            case hashed(salt: Data, hash: Data)
        }

        var hosts: Hosts
        var revoked: Bool
        var keyType: String
        var key: Data
    }

    /// What the file says about a presented key.
    enum Verdict: Equatable, Sendable {
        case trusted
        /// The key is listed under `@revoked`.
        case revoked
        /// The host is listed, but with other keys (of these types).
        case mismatch(knownTypes: [String])
        /// The host is not listed at all.
        case unknown
    }

    /// The key an SSH server presented, as far as libssh2 tells it.
    struct PresentedKey: Sendable {
        var type: String?
        var blob: Data?
        var sha256: Data?

        /// `SHA256:…`, as `ssh-keygen -l` prints it.
        var fingerprint: String? {
            guard let digest = sha256 ?? blob.map({ Data(SHA256.hash(data: $0)) }) else { return nil }
            return "SHA256:" + digest.base64EncodedString().replacingOccurrences(of: "=", with: "")
        }

        func matches(_ entry: Entry) -> Bool {
            if let blob { return blob == entry.key }
            if let sha256 { return sha256 == Data(SHA256.hash(data: entry.key)) }
            return false
        }
    }

    let path: String
    let entries: [Entry]

    /// Reads and parses `path`; lines that cannot be parsed are skipped, as OpenSSH does.
    init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GitError(
                .invalidConfiguration, "cannot read the known_hosts file \(path)",
                hint:
                    "pass an existing file with --known-hosts (ssh-keyscan -p PORT HOST, after checking the fingerprint)"
            )
        }
        self.init(path: path, text: String(decoding: data, as: UTF8.self))
    }

    init(path: String, text: String) {
        self.path = path
        var entries: [Entry] = []
        for line in text.split(whereSeparator: \.isNewline) {
            var fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let first = fields.first, !first.hasPrefix("#") else { continue }
            var revoked = false
            if first.hasPrefix("@") {
                // Host certificates are not supported; a CA line must not trust anything.
                guard first == "@revoked" else { continue }
                revoked = true
                fields.removeFirst()
            }
            guard fields.count >= 3, let key = Data(base64Encoded: fields[2]) else { continue }
            let hosts: Entry.Hosts
            if fields[0].hasPrefix("|1|") {
                let parts = fields[0].split(separator: "|", omittingEmptySubsequences: true)
                guard parts.count == 3, let salt = Data(base64Encoded: String(parts[1])),
                    let hash = Data(base64Encoded: String(parts[2]))
                else { continue }
                hosts = .hashed(salt: salt, hash: hash)
            } else {
                hosts = .patterns(fields[0].split(separator: ",").map { $0.lowercased() })
            }
            entries.append(Entry(hosts: hosts, revoked: revoked, keyType: fields[1], key: key))
        }
        self.entries = entries
    }

    /// Judges `key` presented by `name` (`host` or `[host]:port`).
    func verify(name: String, key: PresentedKey) -> Verdict {
        let name = name.lowercased()
        let listed = entries.filter { Self.entry($0, matches: name) }
        if listed.contains(where: { $0.revoked && key.matches($0) }) { return .revoked }
        if listed.contains(where: { !$0.revoked && key.matches($0) }) { return .trusted }
        let types = listed.filter { !$0.revoked }.map(\.keyType)
        return types.isEmpty ? .unknown : .mismatch(knownTypes: Array(Set(types)).sorted())
    }

    private static func entry(_ entry: Entry, matches name: String) -> Bool {
        switch entry.hosts {
        case .hashed(let salt, let hash):
            let code = HMAC<Insecure.SHA1>.authenticationCode(for: Data(name.utf8), using: SymmetricKey(data: salt))
            return Data(code) == hash
        case .patterns(let patterns):
            var matched = false
            for pattern in patterns {
                if pattern.hasPrefix("!") {
                    // A negated match rules the whole line out, whatever else matched.
                    if wildcard(String(pattern.dropFirst()), matches: name) { return false }
                } else if wildcard(pattern, matches: name) {
                    matched = true
                }
            }
            return matched
        }
    }

    /// `*` and `?` glob matching, as in ssh's `match_pattern`.
    static func wildcard(_ pattern: String, matches name: String) -> Bool {
        let p = Array(pattern.utf8)
        let s = Array(name.utf8)
        var pi = 0
        var si = 0
        var star = -1
        var mark = 0
        while si < s.count {
            if pi < p.count, p[pi] == UInt8(ascii: "?") || p[pi] == s[si] {
                pi += 1
                si += 1
            } else if pi < p.count, p[pi] == UInt8(ascii: "*") {
                star = pi
                mark = si
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                si = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }

    /// Reads the key type name at the start of an SSH wire-format key blob.
    static func keyType(ofBlob blob: Data) -> String? {
        guard blob.count >= 4 else { return nil }
        let bytes = [UInt8](blob.prefix(4))
        let length = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        guard length > 0, length < 64, blob.count >= 4 + length else { return nil }
        return String(decoding: blob.dropFirst(4).prefix(length), as: UTF8.self)
    }
}
