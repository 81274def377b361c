import Foundation
import MailroomPlan

/// The steps of one rollout as they happen: kept for the result and appended to the journal
/// at once, so that a crash leaves the journal showing every step that ran. It also decides
/// whether the rollout goes on (``ok``): the first failure or interruption stops it.
actor RolloutLog {
    let rollout: String?
    let journal: Journal?
    private(set) var steps: [StepRecord] = []
    private(set) var failure: String?
    /// Set when the rollout stopped early on purpose; the first reason wins.
    private(set) var interruption: RolloutInterruption?
    /// Journal writes that failed (the rollout goes on; the result says so).
    private(set) var journalErrors: [String] = []

    init(rollout: String?, journal: Journal?) {
        self.rollout = rollout
        self.journal = journal
    }

    /// Whether to go on: no failure and no interruption.
    var ok: Bool { failure == nil && interruption == nil }

    func interrupt(_ why: RolloutInterruption) {
        if interruption == nil { interruption = why }
    }

    func add(_ step: StepRecord, failsRollout: Bool = true) {
        steps.append(step)
        if step.result == .failed, failsRollout, failure == nil {
            failure =
                "\(step.action.rawValue) \(step.target): \(step.detail ?? "failed")"
                + (step.stderr.map { $0.isEmpty ? "" : " (\($0))" } ?? "")
        }
        guard let journal, let rollout else { return }
        var record = JournalRecord(type: .step, rollout: rollout, time: step.ended)
        record.step = step
        do { try journal.append(record) } catch { journalErrors.append("\(error)") }
    }
}
