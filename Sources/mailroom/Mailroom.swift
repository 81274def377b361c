import ArgumentParser
import Logging
import MailroomSupport

@main
struct MailroomCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailroom",
        abstract: "GitOps for a Mailu mail server on Podman: plan and apply a deployment spec.",
        discussion: """
            A spec is a directory holding mailroom.yaml. Start with:
              mailroom validate examples/seed-guide
              mailroom render examples/seed-guide --explain
              mailroom plan examples/seed-guide
              mailroom apply examples/seed-guide --dry-run
            """,
        version: MailroomVersion.current,
        subcommands: [
            Validate.self, Render.self, PlanCommand.self, DiffCommand.self, ApplyCommand.self, HistoryCommand.self,
            ShowCommand.self, RollbackCommand.self, DKIMCommand.self, DNSCommand.self, DoctorCommand.self,
            AgentCommand.self, StatusCommand.self, SuspendCommand.self, ResumeCommand.self,
        ]
    )

    /// `mailroom` alone is a usage error (64), with the list of commands.
    func run() async throws {
        throw ValidationError("name a command, e.g. mailroom validate examples/seed-guide")
    }

    static func main() async {
        LoggingSystem.bootstrap { label in
            // One line per record: the agent's log goes to journald.
            var handler = OneLineLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = .info
            return handler
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
