import CGit2
import Foundation

/// What libgit2's remote callbacks need during one fetch, handed to them through `payload`.
///
/// Lives on the fetching thread for the length of one `git_remote_fetch` call.
final class RemoteCallbackContext {
    let remote: GitRemoteURL
    let credentials: GitCredentials
    let knownHosts: KnownHosts?

    /// Set by a callback that refused; thrown instead of libgit2's more generic error.
    var failure: GitError?
    // libgit2 asks again after the server refuses a credential; each is offered once.
    private var offeredKey = false
    private var offeredUsername = false
    private var offeredToken = false

    init(remote: GitRemoteURL, credentials: GitCredentials) throws {
        self.remote = remote
        self.credentials = credentials
        self.knownHosts = try credentials.knownHosts.map { try KnownHosts(path: $0) }
    }

    /// Runs `body` with fetch options whose callbacks use this context.
    func withFetchOptions<T>(_ body: (UnsafePointer<git_fetch_options>) throws -> T) rethrows -> T {
        var options = git_fetch_options()
        git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION))
        // Branches deleted upstream disappear from the mirror, so a missing branch is reported.
        options.prune = GIT_FETCH_PRUNE
        // Tags come through the explicit refs/tags refspec, not by auto-following.
        options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE
        options.callbacks.payload = Unmanaged.passUnretained(self).toOpaque()
        options.callbacks.credentials = { out, _, usernameFromURL, allowedTypes, payload in
            guard let out, let payload else { return -1 }
            let context = Unmanaged<RemoteCallbackContext>.fromOpaque(payload).takeUnretainedValue()
            return context.acquireCredential(
                out, usernameFromURL: usernameFromURL.map { String(cString: $0) }, allowed: allowedTypes)
        }
        options.callbacks.certificate_check = { cert, valid, host, payload in
            guard let cert, let payload else { return -1 }
            let context = Unmanaged<RemoteCallbackContext>.fromOpaque(payload).takeUnretainedValue()
            return context.checkCertificate(cert, valid: valid != 0)
        }
        return try withExtendedLifetime(self) { try body(&options) }
    }

    // MARK: - Credentials

    private func acquireCredential(
        _ out: UnsafeMutablePointer<UnsafeMutablePointer<git_credential>?>, usernameFromURL: String?, allowed: UInt32
    ) -> Int32 {
        func allows(_ type: git_credential_t) -> Bool { allowed & type.rawValue != 0 }
        switch remote.kind {
        case .ssh(let user, let host, _):
            let name = user ?? usernameFromURL ?? "git"
            if allows(GIT_CREDENTIAL_SSH_KEY), let key = credentials.sshKey {
                guard !offeredKey else {
                    return refuse(
                        GitError(
                            .authentication, "the SSH server \(host) refused the key \(key) for user \(name)",
                            hint: "add \(key).pub to that user's authorized_keys, or fix the user in the URL"))
                }
                offeredKey = true
                let publicKey = key + ".pub"
                let hasPublicKey = FileManager.default.isReadableFile(atPath: publicKey)
                let rc = git_credential_ssh_key_new(out, name, hasPublicKey ? publicKey : nil, key, nil)
                if rc < 0 {
                    return refuse(
                        GitError(
                            .invalidConfiguration, "cannot use the SSH key \(key)",
                            hint: "give an unencrypted OpenSSH or PEM private key",
                            detail: LibGit2Failure.last(rc).message))
                }
                return rc
            }
            if allows(GIT_CREDENTIAL_USERNAME), !offeredUsername {
                offeredUsername = true
                return git_credential_username_new(out, name)
            }
            return refuse(
                GitError(
                    .authentication, "the SSH server \(host) wants an authentication other than a key for user \(name)",
                    hint: "allow public key authentication for that user"))
        case .https(let host, _):
            guard allows(GIT_CREDENTIAL_USERPASS_PLAINTEXT) else {
                return refuse(
                    GitError(
                        .authentication, "\(host) asks for an authentication other than a token",
                        hint: "use a token or an ssh:// URL"))
            }
            guard let file = credentials.tokenFile else {
                return refuse(
                    GitError(
                        .authentication, "\(remote) asks for credentials",
                        hint: "pass --token-file FILE holding an access token"))
            }
            guard !offeredToken else {
                return refuse(
                    GitError(
                        .authentication, "\(host) refused the token in \(file)",
                        hint: "check that the token is valid, not expired, and may read the repository"))
            }
            offeredToken = true
            guard let data = FileManager.default.contents(atPath: file),
                case let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines),
                !token.isEmpty
            else {
                return refuse(
                    GitError(
                        .invalidConfiguration, "the token file \(file) is unreadable or empty",
                        hint: "write the access token into it"))
            }
            return git_credential_userpass_plaintext_new(out, "x-access-token", token)
        case .local:
            return GIT_PASSTHROUGH.rawValue
        }
    }

    private func refuse(_ error: GitError) -> Int32 {
        failure = error
        return GIT_EAUTH.rawValue
    }

    // MARK: - Host keys

    private func checkCertificate(_ cert: UnsafeMutablePointer<git_cert>, valid: Bool) -> Int32 {
        guard cert.pointee.cert_type == GIT_CERT_HOSTKEY_LIBSSH2 else {
            // TLS: libgit2 verifies the chain against the system's CA store.
            return GIT_PASSTHROUGH.rawValue
        }
        guard let knownHosts, let name = remote.knownHostsName else {
            failure = GitError(
                .hostKeyUnknown, "no known_hosts file to check the SSH host key of \(remote)",
                hint: "pass --known-hosts FILE")
            return GIT_ECERTIFICATE.rawValue
        }
        let hostkey = UnsafeRawPointer(cert).assumingMemoryBound(to: git_cert_hostkey.self).pointee
        var key = KnownHosts.PresentedKey()
        if hostkey.type.rawValue & GIT_CERT_SSH_RAW.rawValue != 0, let raw = hostkey.hostkey, hostkey.hostkey_len > 0 {
            key.blob = Data(bytes: raw, count: hostkey.hostkey_len)
            key.type = KnownHosts.keyType(ofBlob: key.blob!)
        }
        if hostkey.type.rawValue & GIT_CERT_SSH_SHA256.rawValue != 0 {
            key.sha256 = withUnsafeBytes(of: hostkey.hash_sha256) { Data($0) }
        }
        let presented = [key.type, key.fingerprint].compactMap { $0 }.joined(separator: " ")
        switch knownHosts.verify(name: name, key: key) {
        case .trusted:
            return 0
        case .unknown:
            failure = GitError(
                .hostKeyUnknown, "the SSH host key of \(name) (\(presented)) is not in \(knownHosts.path)",
                hint: "confirm the fingerprint with the server's owner, then add the key to \(knownHosts.path)")
        case .mismatch(let types):
            failure = GitError(
                .hostKeyMismatch,
                "the SSH host key of \(name) (\(presented)) does not match \(knownHosts.path), which lists \(types.joined(separator: ", ")) for it",
                hint:
                    "the connection may be intercepted; if the server's key really changed, replace its line in \(knownHosts.path)"
            )
        case .revoked:
            failure = GitError(
                .hostKeyMismatch, "the SSH host key of \(name) (\(presented)) is marked @revoked in \(knownHosts.path)",
                hint: "the server must get a new host key")
        }
        return GIT_ECERTIFICATE.rawValue
    }
}
