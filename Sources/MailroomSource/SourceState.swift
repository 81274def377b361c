import Foundation
import MailroomSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the source stage remembers between runs: the last commit fetched and the last applied.
public struct SourceState: Codable, Sendable, Equatable {
    /// One commit the source has seen, with the spec directory's tree at that commit.
    public struct Record: Codable, Sendable, Equatable {
        public var commit: GitObjectID
        /// The tree of the spec path at `commit`; equal trees mean an unchanged spec.
        public var specTree: GitObjectID
        /// When this commit was first fetched or applied.
        public var at: Date

        public init(commit: GitObjectID, specTree: GitObjectID, at: Date) {
            self.commit = commit
            self.specTree = specTree
            self.at = at
        }
    }

    /// The repository URL, redacted.
    public var repository: String
    public var branch: String
    public var revision: String?
    public var specPath: String
    public var lastFetched: Record?
    public var lastApplied: Record?

    public init(
        repository: String, branch: String, revision: String?, specPath: String,
        lastFetched: Record? = nil, lastApplied: Record? = nil
    ) {
        self.repository = repository
        self.branch = branch
        self.revision = revision
        self.specPath = specPath
        self.lastFetched = lastFetched
        self.lastApplied = lastApplied
    }
}

/// Reads and writes the state file. Writes are atomic: a reader sees the old or the new
/// file, never a part, even after a crash or power loss.
public struct SourceStateStore: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The recorded state, or nil when there is none yet.
    public func load() throws -> SourceState? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GitError(.stateFile, "cannot read the source state \(path)", hint: "check its permissions")
        }
        do {
            return try Self.decoder.decode(SourceState.self, from: data)
        } catch {
            throw GitError(
                .stateFile, "the source state \(path) is not valid",
                hint: "move it away; the next fetch writes a new one",
                detail: "\(error)")
        }
    }

    /// Replaces the state file: write a temporary file, fsync it, rename it over, fsync the directory.
    public func save(_ state: SourceState) throws {
        let data: Data
        do { data = try Self.encoder.encode(state) } catch {
            throw GitError(.stateFile, "cannot encode the source state", detail: "\(error)")
        }
        try Self.writeAtomically(data, to: path)
    }

    static func writeAtomically(_ data: Data, to path: String) throws {
        do {
            try AtomicFile.write(data, to: path, mode: 0o600)
        } catch {
            throw GitError(
                .stateFile, "cannot write \(path)", hint: "check the state directory's permissions and free space",
                detail: "\(error)")
        }
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .internetTime
        return encoder
    }()

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .internetTime
        return decoder
    }()
}
