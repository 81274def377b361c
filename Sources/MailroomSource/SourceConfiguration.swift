import CGit2
import Foundation
import MailroomSupport

/// Files that authenticate the agent to a remote and the remote to the agent.
public struct GitCredentials: Sendable, Equatable {
    /// For `https://`: a file holding an access token, sent as user `x-access-token`.
    public var tokenFile: String?
    /// For SSH: the private key file. A `<key>.pub` next to it is used when present.
    public var sshKey: String?
    /// For SSH: an OpenSSH `known_hosts` file that must list the server's host key.
    public var knownHosts: String?

    public init(tokenFile: String? = nil, sshKey: String? = nil, knownHosts: String? = nil) {
        self.tokenFile = tokenFile
        self.sshKey = sshKey
        self.knownHosts = knownHosts
    }
}

/// Bounds on what is read from a spec directory, so a bad commit cannot exhaust memory.
public struct SpecReadLimits: Sendable, Equatable {
    /// The largest single file, in bytes (default 1 MiB).
    public var maxFileSize: Int
    /// The largest spec directory, all files together, in bytes (default 16 MiB).
    public var maxTotalSize: Int
    /// The most files (default 1000).
    public var maxFiles: Int

    public init(maxFileSize: Int = 1 << 20, maxTotalSize: Int = 16 << 20, maxFiles: Int = 1000) {
        self.maxFileSize = maxFileSize
        self.maxTotalSize = maxTotalSize
        self.maxFiles = maxFiles
    }

    public static let `default` = SpecReadLimits()
}

/// Where the desired state lives and how to reach it: the `--repo`, `--branch`, `--path`,
/// `--revision` and credential options, checked together.
public struct SourceConfiguration: Sendable, Equatable {
    /// The remote repository.
    public var repository: GitRemoteURL
    /// The branch followed when no revision is pinned.
    public var branch: String
    /// A pinned commit id, tag or branch; when set, ``branch`` is not followed.
    public var revision: String?
    /// The spec directory inside the repository, without leading or trailing `/`; `""` is the root.
    public var specPath: String
    public var credentials: GitCredentials
    /// Where the mirror (`mirror.git`) and the state file (`source-state.json`) are kept.
    public var stateDirectory: String
    public var limits: SpecReadLimits

    /// Checks the options together, before anything touches the network.
    ///
    /// - Parameters:
    ///   - repository: a path, `file://`, `https://`, `ssh://` URL or scp-like `user@host:path`.
    ///   - branch: the branch to follow (default `main`).
    ///   - revision: a commit id, tag or branch to pin instead of following `branch`.
    ///   - path: the spec directory in the repository (default: the root).
    ///   - stateDirectory: Mailroom's state directory; the mirror and the source state go
    ///     where ``StateDirectory`` says, and an older layout there is migrated first.
    public init(
        repository: String, branch: String = "main", revision: String? = nil, path: String = "",
        credentials: GitCredentials = GitCredentials(), stateDirectory: String, limits: SpecReadLimits = .default
    ) throws {
        self.repository = try GitRemoteURL(repository)
        self.branch = branch
        self.revision = revision.flatMap { $0.isEmpty ? nil : $0 }
        self.specPath = try Self.normalize(specPath: path)
        self.credentials = credentials
        self.stateDirectory = stateDirectory
        self.limits = limits
        try validate()
        do {
            try StateDirectory(stateDirectory).migrate()
        } catch {
            throw GitError(
                .stateFile, "could not migrate the git mirror in \(stateDirectory): \(error)",
                hint: "move \(stateDirectory)/source/mirror.git to \(stateDirectory)/mirror.git by hand")
        }
    }

    /// Where the bare mirror lives.
    public var mirrorPath: String { StateDirectory(stateDirectory).mirror }
    /// Where the source state is recorded.
    public var statePath: String { StateDirectory(stateDirectory).sourceState }

    /// What is followed, for messages: `branch main` or `revision v1.2`.
    public var tracking: String { revision.map { "revision \($0)" } ?? "branch \(branch)" }

    /// `""` or `a/b`; rejects absolute paths and `..`.
    static func normalize(specPath path: String) throws -> String {
        let parts = path.split(separator: "/").filter { $0 != "." }
        if path.hasPrefix("/") || parts.contains("..") {
            throw GitError(
                .invalidConfiguration, "the spec path '\(path)' leaves the repository",
                hint: "give a path relative to the repository root, without '..'")
        }
        return parts.joined(separator: "/")
    }

    private func validate() throws {
        LibGit2.ensureInitialized()
        var valid: Int32 = 0
        if git_reference_name_is_valid(&valid, "refs/heads/\(branch)") < 0 || valid == 0 || branch.isEmpty {
            throw GitError(
                .invalidConfiguration, "'\(branch)' is not a valid branch name", hint: "pass --branch NAME, e.g. main")
        }
        let c = credentials
        switch repository.kind {
        case .local:
            if c.tokenFile != nil || c.sshKey != nil || c.knownHosts != nil {
                throw GitError(
                    .invalidConfiguration, "credentials were given for the local repository \(repository)",
                    hint: "drop --token-file, --ssh-key and --known-hosts for a local path")
            }
        case .https:
            if c.sshKey != nil || c.knownHosts != nil {
                throw GitError(
                    .invalidConfiguration, "--ssh-key and --known-hosts apply to SSH URLs, not \(repository)",
                    hint: "use --token-file for https, or an ssh:// URL")
            }
            if let file = c.tokenFile, !FileManager.default.isReadableFile(atPath: file) {
                throw GitError(
                    .invalidConfiguration, "cannot read the token file \(file)",
                    hint: "check the path and its permissions")
            }
        case .ssh:
            guard LibGit2.supportsSSH else {
                throw GitError(
                    .invalidConfiguration, "this libgit2 was built without SSH support, needed for \(repository)",
                    hint: "install a libgit2 built with libssh2, or use https")
            }
            if c.tokenFile != nil {
                throw GitError(
                    .invalidConfiguration, "--token-file applies to https URLs, not \(repository)",
                    hint: "use --ssh-key")
            }
            guard let key = c.sshKey else {
                throw GitError(.invalidConfiguration, "no private key for \(repository)", hint: "pass --ssh-key FILE")
            }
            guard FileManager.default.isReadableFile(atPath: key) else {
                throw GitError(
                    .invalidConfiguration, "cannot read the SSH key \(key)", hint: "check the path and its permissions")
            }
            guard let knownHosts = c.knownHosts else {
                throw GitError(
                    .invalidConfiguration, "no known_hosts file for \(repository)",
                    hint: "pass --known-hosts FILE: an unknown host key is never accepted")
            }
            _ = try KnownHosts(path: knownHosts)
        }
    }
}
