import Foundation

/// A repository location, classified by transport.
///
/// Accepted forms:
/// - a local path (`/srv/git/spec.git`, `../spec`), made absolute;
/// - `file:///srv/git/spec.git`;
/// - `https://host[:port]/path` (credentials come from a token file, never from the URL);
/// - `ssh://[user@]host[:port]/path`;
/// - scp-like `[user@]host:path`, as git understands it (no `/` before the `:`).
public struct GitRemoteURL: Hashable, Sendable, CustomStringConvertible {
    /// How the repository is reached.
    public enum Kind: Hashable, Sendable {
        /// A path on this machine (from a plain path or a `file://` URL).
        case local(path: String)
        case https(host: String, port: Int?)
        case ssh(user: String?, host: String, port: Int)
    }

    /// The transport and its address.
    public let kind: Kind
    /// What is given to libgit2.
    public let url: String

    /// Classifies `text`; relative local paths are resolved against `directory`.
    public init(_ text: String, relativeTo directory: String = FileManager.default.currentDirectoryPath) throws {
        let text = text.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else {
            throw GitError(
                .invalidURL, "the repository URL is empty", hint: "pass a path, file://, https:// or ssh:// URL")
        }
        if let rest = text.dropPrefix("file://") {
            // file:///abs/path: the authority must be empty or localhost.
            var path = rest
            if let slash = path.firstIndex(of: "/") {
                let authority = path[..<slash]
                guard authority.isEmpty || authority == "localhost" else {
                    throw GitError(
                        .invalidURL, "'\(text)' names a remote host in a file:// URL",
                        hint: "write file:///absolute/path or a plain path")
                }
                path = String(path[slash...])
            } else {
                throw GitError(.invalidURL, "'\(text)' has no absolute path", hint: "write file:///absolute/path")
            }
            let decoded = path.removingPercentEncoding ?? path
            kind = .local(path: Self.standardize(decoded))
            url = text
        } else if let rest = text.dropPrefix("https://") {
            let (authority, _) = Self.splitAuthority(rest)
            let (userinfo, hostPort) = Self.splitUserinfo(authority)
            if let userinfo, userinfo.contains(":") {
                throw GitError(
                    .invalidURL, "'\(Self.redact(text))' carries a password in the URL",
                    hint: "remove it from the URL and pass the token with --token-file")
            }
            let (host, port) = try Self.splitHostPort(hostPort, in: text)
            kind = .https(host: host, port: port)
            url = text
        } else if let rest = text.dropPrefix("ssh://") ?? text.dropPrefix("git+ssh://") ?? text.dropPrefix("ssh+git://")
        {
            let (authority, path) = Self.splitAuthority(rest)
            let (user, hostPort) = Self.splitUserinfo(authority)
            if let user, user.contains(":") {
                throw GitError(
                    .invalidURL, "'\(Self.redact(text))' carries a password in the URL",
                    hint: "use a key file with --ssh-key")
            }
            let (host, port) = try Self.splitHostPort(hostPort, in: text)
            guard path.count > 1 else {
                throw GitError(
                    .invalidURL, "'\(text)' has no repository path",
                    hint: "write ssh://user@host[:port]/path/to/repo.git")
            }
            kind = .ssh(user: user, host: host, port: port ?? 22)
            url = "ssh://" + rest
        } else if text.contains("://") {
            let scheme = text.prefix(while: { $0 != ":" })
            throw GitError(
                .invalidURL, "'\(Self.redact(text))' uses the unsupported scheme '\(scheme)'",
                hint: "use https://, ssh://, file:// or a local path (plain http and git:// are unencrypted)")
        } else if let colon = text.firstIndex(of: ":"), !text[..<colon].contains("/") {
            // scp-like syntax, exactly as git reads it: a ':' before any '/'.
            let (user, host) = Self.splitUserinfo(String(text[..<colon]))
            let path = text[text.index(after: colon)...]
            guard !host.isEmpty, !path.isEmpty else {
                throw GitError(
                    .invalidURL, "'\(text)' is neither a path nor a [user@]host:path address",
                    hint: "write ./\(text) for a local path")
            }
            let bareHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
            kind = .ssh(user: user, host: bareHost, port: 22)
            url = text
        } else {
            let absolute = text.hasPrefix("/") ? text : (directory as NSString).appendingPathComponent(text)
            let path = Self.standardize(absolute)
            kind = .local(path: path)
            url = path
        }
    }

    /// The path on this machine, for local repositories.
    public var localPath: String? {
        if case .local(let path) = kind { return path }
        return nil
    }

    /// Whether change detection can watch the repository's files.
    public var isLocal: Bool { localPath != nil }

    /// The URL with any user name kept and anything secret-looking removed, for logs and messages.
    public var description: String { Self.redact(url) }

    /// The `known_hosts` name of an SSH server: `host`, or `[host]:port` off port 22.
    public var knownHostsName: String? {
        guard case .ssh(_, let host, let port) = kind else { return nil }
        return port == 22 ? host : "[\(host)]:\(port)"
    }

    // MARK: - Parsing helpers

    private static func standardize(_ path: String) -> String {
        var result = (path as NSString).standardizingPath
        while result.count > 1, result.hasSuffix("/") { result.removeLast() }
        return result
    }

    /// Splits `authority/path...` at the first `/`.
    private static func splitAuthority(_ rest: String) -> (String, String) {
        guard let slash = rest.firstIndex(of: "/") else { return (rest, "") }
        return (String(rest[..<slash]), String(rest[slash...]))
    }

    /// Splits `user@host` at the last `@`.
    private static func splitUserinfo(_ authority: String) -> (String?, String) {
        guard let at = authority.lastIndex(of: "@") else { return (nil, authority) }
        let user = String(authority[..<at])
        return (user.isEmpty ? nil : user, String(authority[authority.index(after: at)...]))
    }

    private static func splitHostPort(_ hostPort: String, in text: String) throws -> (String, Int?) {
        var host = hostPort
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else {
                throw GitError(.invalidURL, "'\(redact(text))' has an unclosed '[' in its host")
            }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            portText = hostPort[hostPort.index(after: colon)...]
        }
        guard !host.isEmpty else {
            throw GitError(.invalidURL, "'\(redact(text))' has no host name")
        }
        guard let portText, !portText.isEmpty else { return (host, nil) }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw GitError(
                .invalidURL, "'\(redact(text))' has an invalid port '\(portText)'", hint: "use a number from 1 to 65535"
            )
        }
        return (host, port)
    }

    /// Replaces the password part of `scheme://user:secret@host` with `***`.
    static func redact(_ text: String) -> String {
        guard let scheme = text.range(of: "://") else { return text }
        let rest = text[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else {
            return text
        }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}

extension String {
    fileprivate func dropPrefix(_ prefix: String) -> String? {
        guard lowercased().hasPrefix(prefix) else { return nil }
        return String(dropFirst(prefix.count))
    }
}
