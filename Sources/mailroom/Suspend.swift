import ArgumentParser
import Foundation
import MailroomAgent

struct SuspendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suspend",
        abstract: "Stop the agent from syncing until `mailroom resume`.",
        discussion: """
            Writes <state-dir>/agent-control.json; the agent reads it before each
            reconcile. Nothing on the host changes. `mailroom status` says so.
            Example:
              mailroom suspend --reason "migrating mailboxes"
            """)

    @OptionGroup var state: StateOptions
    @Option(help: "Why, shown in status.") var reason: String?
    @Option(help: "Output format: text or json.") var output: OutputFormat = .text

    func run() throws {
        var control = AgentControl.load(stateDirectory: state.stateDirectory)
        control.suspended = true
        control.reason = reason
        control.since = Date()
        try control.save(stateDirectory: state.stateDirectory)
        if output == .json {
            try printJSON(SyncControlReport(suspended: true, reason: reason))
        } else {
            print("Sync suspended; `mailroom resume` to sync again.")
        }
    }
}

/// `suspend` and `resume` with `--output json`.
struct SyncControlReport: Encodable {
    var suspended: Bool
    var reason: String?
    /// `resume`: whether a running agent took the resync at once.
    var resyncing: Bool?
}
