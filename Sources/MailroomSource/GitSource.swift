import Dispatch
import Foundation
import Logging

/// The git source stage: keeps a bare mirror of the spec repository and reads the desired
/// state from it, straight from commit trees (no checkout).
///
/// ```swift
/// let configuration = try SourceConfiguration(repository: url, branch: "main", path: "deploy",
///                                             stateDirectory: "/var/lib/mailroom/source")
/// let source = GitSource(configuration)
/// let result = try await source.fetch(logger: logger)
/// if result.specChanged { let spec = try result.snapshot.loadSpec() }
/// ```
///
/// Every method is blocking and thread-safe; calls are serialised. The `async` variants run
/// the blocking work on a dispatch queue of their own, off Swift's cooperative thread pool.
public final class GitSource: @unchecked Sendable {
    // Ownership: `mirror` (and the libgit2 handles it caches) is only touched while holding
    // `lock`, so one thread at a time uses them. Everything else is immutable.
    private let lock = NSLock()
    private let mirror: GitMirror
    private let store: SourceStateStore
    private let queue = DispatchQueue(label: "mailroom.git-source")

    /// The options this source was made with.
    public let configuration: SourceConfiguration

    public init(_ configuration: SourceConfiguration) {
        self.configuration = configuration
        self.mirror = GitMirror(configuration: configuration)
        self.store = SourceStateStore(path: configuration.statePath)
    }

    /// The recorded state, or nil before the first successful fetch.
    public func state() throws -> SourceState? {
        try store.load()
    }

    // MARK: - Fetch

    /// Fetches the remote, resolves the tracked branch (or pinned revision), reads the spec
    /// directory at that commit, and records the commit as last fetched.
    ///
    /// When the new tip does not descend from the previously fetched commit the branch was
    /// force-pushed: ``FetchResult/forced`` is set, a warning is logged, and the new tip is used.
    /// On any failure the state file is left as it was.
    public func fetch(logger: Logger) throws -> FetchResult {
        try locked {
            let previousState = try store.load()
            let repository = try mirror.sync()
            if let damage = mirror.takeRepair() {
                logger.warning(
                    "The git mirror was damaged; cloned it again",
                    metadata: ["source.mirror": "\(configuration.mirrorPath)", "source.error": "\(damage)"])
            }
            let commit = try resolveTracked(in: repository)
            let snapshot = try mirror.snapshot(at: commit)

            // Compare only with what was fetched for the same thing followed at the same path.
            let comparable = previousState.flatMap { state in
                state.branch == configuration.branch && state.revision == configuration.revision
                    && state.specPath == configuration.specPath ? state.lastFetched : nil
            }
            var forced = false
            if let previous = comparable?.commit, previous != commit.id, configuration.revision == nil {
                if let old = mirror.commit(previous, in: repository) {
                    forced = try !mirror.isDescendant(commit, of: old)
                } else {
                    forced = true  // the old tip is gone from the mirror: history was rewritten
                }
                if forced {
                    logger.warning(
                        "Branch was force-pushed; following the new tip",
                        metadata: [
                            "source.repository": "\(configuration.repository)",
                            "source.branch": "\(configuration.branch)",
                            "source.previous": "\(previous)", "source.commit": "\(commit.id)",
                        ])
                }
            }
            let specChanged = comparable?.specTree != snapshot.tree
            let result = FetchResult(
                commit: commit.id, previous: comparable?.commit, forced: forced,
                specChanged: specChanged, snapshot: snapshot)
            if comparable?.commit != commit.id || previousState?.repository != configuration.repository.description {
                var state = previousState ?? SourceState(repository: "", branch: "", revision: nil, specPath: "")
                state.repository = configuration.repository.description
                state.branch = configuration.branch
                state.revision = configuration.revision
                state.specPath = configuration.specPath
                state.lastFetched = SourceState.Record(commit: commit.id, specTree: snapshot.tree, at: Date())
                try store.save(state)
                logger.debug(
                    "Fetched a new commit",
                    metadata: [
                        "source.commit": "\(commit.id)", "source.spec-changed": "\(specChanged)",
                        "source.forced": "\(forced)",
                    ])
            }
            return result
        }
    }

    /// ``fetch(logger:)`` on this source's own queue, off the cooperative thread pool.
    public func fetch(logger: Logger) async throws -> FetchResult {
        try await offPool { try self.fetch(logger: logger) }
    }

    /// Updates the mirror only (clone or fetch); resolves nothing and records nothing.
    public func syncMirror() throws {
        try locked { _ = try mirror.sync() }
    }

    // MARK: - Reading

    /// The commit `revision` (commit id, tag or branch) names in the mirror, as last fetched.
    public func resolve(_ revision: String) throws -> GitObjectID {
        try locked { try mirror.commit(atRevision: revision, in: mirror.open()).id }
    }

    /// The spec directory at `revision` in the mirror, as last fetched.
    public func snapshot(at revision: String) throws -> SpecSnapshot {
        try locked {
            let repository = try mirror.open()
            return try mirror.snapshot(at: mirror.commit(atRevision: revision, in: repository))
        }
    }

    /// How the spec directory differs between two revisions (commit ids, tags or branches) in the mirror.
    public func diff(from old: String, to new: String) throws -> SpecDiff {
        try locked {
            let repository = try mirror.open()
            let oldCommit = try mirror.commit(atRevision: old, in: repository)
            let newCommit = try mirror.commit(atRevision: new, in: repository)
            return try mirror.diff(from: oldCommit, to: newCommit)
        }
    }

    /// Records `snapshot` as applied. Call after the rest of the pipeline applied it.
    public func markApplied(_ snapshot: SpecSnapshot, at date: Date = Date()) throws {
        try locked {
            guard var state = try store.load() else {
                throw GitError(
                    .stateFile, "nothing was fetched into \(configuration.statePath) yet",
                    hint: "fetch before marking a commit applied")
            }
            state.lastApplied = SourceState.Record(commit: snapshot.commit, specTree: snapshot.tree, at: date)
            try store.save(state)
        }
    }

    // MARK: - Internals

    /// The git directory of a local origin, for watching its refs; nil for a remote.
    func localGitDirectory() throws -> String? {
        try locked { try mirror.localGitDirectory() }
    }

    private func resolveTracked(in repository: GitRepositoryHandle) throws -> GitCommitHandle {
        if let revision = configuration.revision {
            return try mirror.commit(atRevision: revision, in: repository)
        }
        return try mirror.commit(onBranch: configuration.branch, in: repository)
    }

    private func locked<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Runs blocking libgit2 work on this source's queue, which is backed by its own threads,
    /// not by the two-thread cooperative pool that all tasks share.
    func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }
}
