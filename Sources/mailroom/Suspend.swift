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

    @OptionGroup var host: HostOptions
    @Option(help: "Why, shown in status.") var reason: String?

    func run() throws {
        var control = AgentControl.load(stateDirectory: host.stateDirectory)
        control.suspended = true
        control.reason = reason
        control.since = Date()
        try control.save(stateDirectory: host.stateDirectory)
        print("Sync suspended; `mailroom resume` to sync again.")
    }
}
