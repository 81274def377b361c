import Foundation

/// The layout of Mailroom's state directory (`/var/lib/mailroom`), in one place: the CLI, the
/// agent and every stage ask it for their paths, so one host has one mirror, one journal and
/// one applied record whichever of them ran first.
///
///     applied.json         what was last applied (arguments, hashes, container ids, files)
///     journal.jsonl[.N]    the rollout journal, rotated by size
///     specs/               each rollout's spec, for `rollback --to`
///     apply.lock           held by the rollout in progress
///     mirror.git/          the git source's bare mirror
///     source-state.json    what the git source last fetched and applied
///     agent-control.json   the agent's suspend flag and rollback pin
///     dry-run.jsonl        what an agent in dry-run mode would have applied
public struct StateDirectory: Sendable, Equatable {
    public var root: String

    public init(_ root: String) {
        self.root = root.trimmingTrailingSlash
    }

    public var applied: String { path("applied.json") }
    public func journal(generation: Int = 0) -> String {
        path(generation == 0 ? "journal.jsonl" : "journal.jsonl.\(generation)")
    }
    public var specArchive: String { path("specs") }
    public var applyLock: String { path("apply.lock") }
    public var mirror: String { path("mirror.git") }
    public var sourceState: String { path("source-state.json") }
    public var agentControl: String { path("agent-control.json") }
    public var dryRunJournal: String { path("dry-run.jsonl") }

    /// Where agents before 0.2 kept their git mirror and source state.
    var legacySource: String { path("source") }

    private func path(_ name: String) -> String { root + "/" + name }

    /// Brings an older layout up to this one: the agent used to keep its mirror and source state
    /// under `source/`, while the CLI kept them at the top. The newer source state wins; the
    /// other copy (a mirror is a cache of the remote) is removed, so one host has one mirror.
    /// Returns what it did, for the log; `nil` when there was nothing to migrate.
    @discardableResult
    public func migrate() throws -> String? {
        let files = FileManager.default
        let oldMirror = legacySource + "/mirror.git"
        let oldState = legacySource + "/source-state.json"
        guard files.fileExists(atPath: oldMirror) || files.fileExists(atPath: oldState) else { return nil }
        func modified(_ path: String) -> Date {
            ((try? files.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? .distantPast
        }
        let keepOld = !files.fileExists(atPath: mirror) || modified(oldState) > modified(sourceState)
        if keepOld {
            for (old, new) in [(oldMirror, mirror), (oldState, sourceState)] where files.fileExists(atPath: old) {
                if files.fileExists(atPath: new) { try files.removeItem(atPath: new) }
                try files.moveItem(atPath: old, toPath: new)
            }
        }
        try files.removeItem(atPath: legacySource)
        return keepOld
            ? "moved the git mirror and source state from \(legacySource)/ to \(root)/"
            : "removed the older git mirror in \(legacySource)/; \(mirror) is newer"
    }
}
