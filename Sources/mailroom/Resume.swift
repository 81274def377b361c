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

    @OptionGroup var host: HostOptions
    @Option(help: "The agent's listen address: IP:PORT, or [IPV6]:PORT.") var listen: ListenAddress = .agentDefault

    func run() async throws {
        try AgentControl().save(stateDirectory: host.stateDirectory)
        if (try? await AgentClient.post(listen, path: "/resync")) != nil {
            print("Sync resumed; the agent is resyncing.")
        } else {
            print("Sync resumed; the agent picks it up at its next trigger.")
        }
    }
}
