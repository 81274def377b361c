/// A failure of the git source: what failed, where (repository, ref, path), and what to do about it.
///
/// Every error the `Source` stage throws is a `GitError`. Two errors are equal when their
/// ``code`` is equal, so tests and callers can match on the class of failure.
public struct GitError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable name for the class of failure, for tests, metrics and status output.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        // A struct over a private enum, so new codes don't break callers' switches.
        private enum Base: String, Sendable {
            case invalidURL = "invalid-url"
            case invalidConfiguration = "invalid-configuration"
            case unreachable
            case authentication
            case hostKeyUnknown = "host-key-unknown"
            case hostKeyMismatch = "host-key-mismatch"
            case tlsCertificate = "tls-certificate"
            case notARepository = "not-a-repository"
            case missingBranch = "missing-branch"
            case missingRevision = "missing-revision"
            case missingPath = "missing-path"
            case missingSpecFile = "missing-spec-file"
            case symlink
            case submodule
            case tooLarge = "too-large"
            case corruptObject = "corrupt-object"
            case stateFile = "state-file"
            case watch
            case libgit2
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The repository URL cannot be understood or is not allowed.
        public static let invalidURL = Code(.invalidURL)
        /// Options that don't fit together, or a credentials file that cannot be read.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The remote could not be reached or did not answer as a git server.
        public static let unreachable = Code(.unreachable)
        /// The remote refused the token or key.
        public static let authentication = Code(.authentication)
        /// The SSH server's host key is not in the known_hosts file.
        public static let hostKeyUnknown = Code(.hostKeyUnknown)
        /// The SSH server's host key differs from the one in known_hosts, or is revoked.
        public static let hostKeyMismatch = Code(.hostKeyMismatch)
        /// The HTTPS server's certificate is not valid.
        public static let tlsCertificate = Code(.tlsCertificate)
        /// A local path exists but is not a git repository.
        public static let notARepository = Code(.notARepository)
        /// The tracked branch does not exist in the remote.
        public static let missingBranch = Code(.missingBranch)
        /// The pinned revision (commit, tag or branch) does not exist.
        public static let missingRevision = Code(.missingRevision)
        /// The spec path does not exist at the commit, or is not a directory.
        public static let missingPath = Code(.missingPath)
        /// The spec path has no `mailroom.yaml`.
        public static let missingSpecFile = Code(.missingSpecFile)
        /// A symbolic link inside the spec path.
        public static let symlink = Code(.symlink)
        /// A submodule (gitlink) inside the spec path.
        public static let submodule = Code(.submodule)
        /// A file, or the spec directory as a whole, is over the size limit.
        public static let tooLarge = Code(.tooLarge)
        /// An object in the mirror or the remote cannot be read.
        public static let corruptObject = Code(.corruptObject)
        /// The source state file cannot be read or written.
        public static let stateFile = Code(.stateFile)
        /// The change watcher could not be set up.
        public static let watch = Code(.watch)
        /// Any other libgit2 failure.
        public static let libgit2 = Code(.libgit2)

        public var description: String { base.rawValue }
    }

    /// The class of failure.
    public let code: Code
    /// What failed, naming the repository, ref or path.
    public let message: String
    /// What to do about it.
    public let hint: String?
    /// libgit2's own message, when libgit2 reported the failure.
    public let detail: String?
    /// Where the error was thrown, for bug reports.
    public let fileID: String
    public let line: Int

    public init(
        _ code: Code, _ message: String, hint: String? = nil, detail: String? = nil,
        fileID: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.hint = hint
        self.detail = detail
        self.fileID = fileID
        self.line = line
    }

    public var description: String {
        var text = message
        if let detail, !detail.isEmpty { text += " (\(detail))" }
        if let hint { text += "; \(hint)" }
        return text
    }

    public static func == (lhs: GitError, rhs: GitError) -> Bool { lhs.code == rhs.code }
}
