import ArgumentParser
import Foundation
import MailroomAgent

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Let the agent sync again (ends a suspend or a rollback pin).",
        discussion: """
            Clears <state-dir>/agent-control.json and asks a running agent (if one
            answers on --listen) for an immediate resync.
            Example:
              mailroom resume
            """)

    @OptionGroup var state: StateOptions
    @Option(help: "The agent's listen address: IP:PORT, or [IPV6]:PORT.") var listen: ListenAddress = .agentDefault
    @Option(help: "Output format: text or json.") var output: OutputFormat = .text

    func run() async throws {
        try AgentControl().save(stateDirectory: state.stateDirectory)
        let resyncing = (try? await AgentClient.post(listen, path: "/resync")) != nil
        if output == .json {
            try printJSON(SyncControlReport(suspended: false, resyncing: resyncing))
        } else if resyncing {
            print("Sync resumed; the agent is resyncing.")
        } else {
            print("Sync resumed; the agent picks it up at its next trigger.")
        }
    }
}
