import ArgumentParser
import Foundation
import MailroomApply
import MailroomPlan

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List the rollouts recorded in the journal.",
        discussion: """
            One rollout a line, oldest first: id, start time (UTC), commit, trigger
            (cli, agent, rollback, auto-rollback), result (succeeded, failed, refused,
            interrupted, running), duration and changes: what was done, and for a
            rollout that did not succeed also what was planned ("done: network, 2
            created; planned: network, 13 created, 8 files"). Journal lines that cannot be
            read (a record torn by a crash) are reported on stderr and skipped.
            Example:
              mailroom history --limit 10
              mailroom history --output json
            """)

    @OptionGroup var state: StateOptions
    @Option(help: "Show only the last N rollouts.") var limit: Int?
    @Option(help: "Output format: text or json.") var output: OutputFormat = .text

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let history = RolloutHistory.load(stateDirectory: state.stateDirectory)
        for problem in history.problems { FileHandle.standardError.write(Data("warning: journal \(problem)\n".utf8)) }
        let running =
            ApplyLock.isHeld(stateDirectory: state.stateDirectory)
            ? history.rollouts.last(where: { $0.status == nil })?.id : nil
        let rollouts = limit.map { Array(history.rollouts.suffix($0)) } ?? history.rollouts
        if output == .json {
            try printJSON(
                HistoryReport(
                    rollouts: rollouts.map { HistoryReport.Row($0, running: $0.id == running) },
                    problems: history.problems))
        } else if rollouts.isEmpty {
            print("No rollouts recorded in \(Journal.path(in: state.stateDirectory)).")
        } else {
            print(ApplyFormatter(color: useColor).history(rollouts, runningNow: running))
        }
    }
}

/// `history --output json`.
struct HistoryReport: Encodable {
    struct Row: Encodable {
        var id: String
        var started: Date
        var commit: String?
        var trigger: String?
        var result: String
        var durationMs: Int?
        /// The plan the rollout started with.
        var summary: Plan.Summary?
        /// What it did, from its steps (`history`'s CHANGES column for a failed rollout says both).
        var done: String
        var changes: [String]
        var resumes: String?
        var rollbackTo: String?
        var error: String?

        init(_ r: RolloutSummary, running: Bool) {
            id = r.id
            started = r.started
            commit = r.commit
            trigger = r.trigger?.rawValue
            result = r.result(runningNow: running)
            durationMs = r.durationMs
            summary = r.summary
            done = r.doneLine
            changes = r.changes
            resumes = r.resumes
            rollbackTo = r.rollbackTo
            error = r.error
        }
    }
    var rollouts: [Row]
    var problems: [JournalProblem]
}
