import ArgumentParser
import Foundation
import MailroomApply

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one rollout and its steps.",
        discussion: """
            Each step: what, on what, how long, the result, and podman's stderr when
            it failed. Exit status: 0 found, 1 no such rollout.
            Example:
              mailroom show 20250612-101502-3f9a
              mailroom show 20250612 --output json
            """)

    @OptionGroup var state: StateOptions
    @Argument(help: "Rollout id, or a unique prefix of one.") var rollout: String
    @Option(help: "Output format: text or json.") var output: OutputFormat = .text

    func run() throws {
        let history = RolloutHistory.load(stateDirectory: state.stateDirectory)
        for problem in history.problems { FileHandle.standardError.write(Data("warning: journal \(problem)\n".utf8)) }
        guard let found = history.rollout(rollout) else {
            let count = history.rollouts.filter { $0.id.hasPrefix(rollout) }.count
            let why =
                count > 1
                ? "'\(rollout)' matches \(count) rollouts; give more of the id"
                : "no rollout '\(rollout)' in the journal"
            FileHandle.standardError.write(Data("mailroom: \(why); see mailroom history\n".utf8))
            throw ExitCode(1)
        }
        let running =
            found.status == nil && found.id == history.rollouts.last?.id
            && ApplyLock.isHeld(stateDirectory: state.stateDirectory)
        if output == .json {
            try printJSON(ShowReport(rollout: found, result: found.result(runningNow: running)))
        } else {
            print(ApplyFormatter(color: useColor).show(found, runningNow: running))
        }
    }
}

/// `show --output json`: the rollout with its steps, and its result in one word.
struct ShowReport: Encodable {
    var rollout: RolloutSummary
    var result: String
}
