import Logging
import MailroomSupport

/// Where a spec comes from: a directory on this host, or a commit of a git repository read
/// through the bare mirror (no checkout). Every command that reads a spec goes through it.
public enum SpecSource: Sendable {
    case directory(String)
    case git(SourceConfiguration)

    /// A spec's text with the commit it was read at (`nil` for a directory).
    public struct Loaded: Sendable {
        public var text: SpecText
        public var commit: String?
        public var snapshot: SpecSnapshot?
    }

    /// Reads the spec: a directory from disk; a repository by fetching (or cloning) the
    /// mirror and reading the pinned revision or the branch tip from its tree.
    public func load(logger: Logger) async throws -> Loaded {
        switch self {
        case .directory(let directory):
            return Loaded(text: try SpecText.directory(directory), commit: nil, snapshot: nil)
        case .git(let configuration):
            let result = try await GitSource(configuration).fetch(logger: logger)
            let snapshot = result.snapshot
            return Loaded(
                text: SpecText(snapshot.specText, file: snapshot.location(of: SpecText.fileName)),
                commit: snapshot.commit.hex, snapshot: snapshot)
        }
    }

    /// Records a successful apply of `loaded` in the source state (git only).
    public func markApplied(_ loaded: Loaded) throws {
        if case .git(let configuration) = self, let snapshot = loaded.snapshot {
            try GitSource(configuration).markApplied(snapshot)
        }
    }

    /// A readable name for titles: the directory, or `URL@revision:path`.
    public var name: String {
        switch self {
        case .directory(let directory): return directory
        case .git(let c):
            return "\(c.repository)@\(c.revision ?? c.branch)" + (c.specPath.isEmpty ? "" : ":\(c.specPath)")
        }
    }
}
