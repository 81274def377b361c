import Foundation
import MailroomPlan
import MailroomSupport

/// One rollout as the journal tells it.
public struct RolloutSummary: Sendable, Equatable, Codable {
    public var id: String
    public var started: Date
    public var ended: Date?
    public var commit: String?
    public var trigger: Trigger?
    public var runner: String?
    /// `nil` while there is no end record: running now, or interrupted and not yet noticed.
    public var status: RolloutStatus?
    public var durationMs: Int?
    public var summary: Plan.Summary?
    public var changes: [String] = []
    public var steps: [StepRecord] = []
    public var error: String?
    public var resumes: String?
    public var rollbackTo: String?
    public var applicationVersion: String?

    /// The result in one word; `running` when `runningNow` and no end was written.
    public func result(runningNow: Bool) -> String {
        status?.rawValue ?? (runningNow ? "running" : "interrupted")
    }
}

/// The rollouts of the journal, oldest first, and the lines that could not be read.
public struct RolloutHistory: Sendable {
    public var rollouts: [RolloutSummary]
    public var problems: [JournalProblem]

    public static func load(stateDirectory: String) -> RolloutHistory {
        let contents = Journal.read(stateDirectory: stateDirectory)
        return RolloutHistory(records: contents.records, problems: contents.problems)
    }

    /// The rollouts of the current journal file only: the newest ones, cheap to read often
    /// (the journal rotates before a rollout starts, so the latest rollout is always there).
    public static func loadRecent(stateDirectory: String) -> RolloutHistory {
        let contents = Journal.read(stateDirectory: stateDirectory, keep: 1)
        return RolloutHistory(records: contents.records, problems: contents.problems)
    }

    public init(records: [JournalRecord], problems: [JournalProblem] = []) {
        var order: [String] = []
        var byID: [String: RolloutSummary] = [:]
        for record in records {
            if byID[record.rollout] == nil {
                order.append(record.rollout)
                byID[record.rollout] = RolloutSummary(id: record.rollout, started: record.time)
            }
            var r = byID[record.rollout]!
            switch record.type {
            case .start:
                r.started = record.time
                r.commit = record.commit
                r.trigger = record.trigger
                r.runner = record.runner
                r.summary = record.summary
                r.changes = record.changes ?? []
                r.resumes = record.resumes
                r.rollbackTo = record.rollbackTo
                r.applicationVersion = record.applicationVersion
            case .step:
                if let step = record.step { r.steps.append(step) }
            case .end:
                r.ended = record.time
                r.status = record.status
                r.error = record.error
                r.durationMs = record.durationMs ?? Int(record.time.timeIntervalSince(r.started) * 1000)
            }
            byID[record.rollout] = r
        }
        rollouts = order.compactMap { byID[$0] }
        self.problems = problems
    }

    /// A rollout by id (or a unique prefix of one).
    public func rollout(_ selector: String) -> RolloutSummary? {
        if let exact = rollouts.first(where: { $0.id == selector }) { return exact }
        let matches = rollouts.filter { $0.id.hasPrefix(selector) }
        return matches.count == 1 ? matches[0] : nil
    }

    /// The latest rollout of a commit (full or abbreviated, at least 7 characters), preferring one that succeeded.
    public func rollout(commit: String) -> RolloutSummary? {
        let matches = rollouts.filter { r in
            guard let c = r.commit else { return false }
            return c == commit || (commit.count >= 7 && c.hasPrefix(commit))
        }
        return matches.last { $0.status == .succeeded } ?? matches.last
    }

    /// The commit an agent must not try again after a restart: the newest commit whose own
    /// rollout failed or was refused, until a rollout of another commit than the one the host
    /// returned to succeeds (a newer commit, or a revert recorded without changes). Rollbacks
    /// and automatic rollbacks never make a commit bad; put-backs of the applied commit neither.
    public func badCommit() -> String? {
        var applied: String?
        var bad: (commit: String, returnedTo: String?)?
        for rollout in rollouts {
            guard let commit = rollout.commit, let status = rollout.status else { continue }
            let ownRollout = rollout.trigger != .rollback && rollout.trigger != .autoRollback
            switch status {
            case .succeeded:
                if let current = bad, commit != current.returnedTo { bad = nil }
                applied = commit
            case .failed, .refused:
                if ownRollout && commit != applied { bad = (commit, applied) }
            case .interrupted:
                break
            }
        }
        return bad?.commit
    }

    /// The latest rollout that succeeded, other than `excluding`.
    public func lastSucceeded(excluding: String? = nil) -> RolloutSummary? {
        rollouts.last { $0.status == .succeeded && $0.id != excluding }
    }
}

/// Each rollout's spec text, kept in `<stateDir>/specs/<rollout>.yaml` so `rollback` can
/// re-compile the desired state of any rollout without git.
public enum SpecArchive {
    public static func directory(in stateDirectory: String) -> String { StateDirectory(stateDirectory).specArchive }

    public static func path(rollout: String, in stateDirectory: String) -> String {
        "\(directory(in: stateDirectory))/\(rollout).yaml"
    }

    public static func save(_ text: String, rollout: String, in stateDirectory: String, keep: Int = 200) throws {
        try AtomicFile.write(text, to: path(rollout: rollout, in: stateDirectory), mode: 0o600)
        // Rollout ids sort by time: drop the oldest beyond `keep`.
        let directory = directory(in: stateDirectory)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter {
            $0.hasSuffix(".yaml")
        }.sorted()
        for name in names.dropLast(keep) { try? FileManager.default.removeItem(atPath: "\(directory)/\(name)") }
    }

    public static func load(rollout: String, in stateDirectory: String) -> String? {
        FileManager.default.contents(atPath: path(rollout: rollout, in: stateDirectory)).map {
            String(decoding: $0, as: UTF8.self)
        }
    }
}
