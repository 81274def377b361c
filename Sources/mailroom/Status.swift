import ArgumentParser
import Foundation
import MailroomAgent

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show what the running agent is doing.",
        discussion: """
            Reads /status from the agent's listener on this host and prints it:
            sync state (syncing, suspended, pinned), branch tip and applied commits,
            the last rollout, drift, degraded containers and recent errors.
            Exit status: 0, or 1 when no agent answers.
            Example:
              mailroom status
              mailroom status --listen 127.0.0.1:9321 --output json
            """)

    @Option(help: "The agent's listen address: IP:PORT, or [IPV6]:PORT.") var listen: ListenAddress = .agentDefault
    @Option(help: "text or json.") var output: OutputFormat = .text

    func run() async throws {
        let data: Data
        do {
            data = try await AgentClient.get(listen, path: "/status")
        } catch {
            FileHandle.standardError.write(
                Data(
                    """
                    mailroom status: no agent answers on \(listen) (\(error)). Start one with \
                    `systemctl start mailroom` (contrib/mailroom.service) or \
                    `mailroom agent --config /etc/mailroom/agent.yaml`, or pass --listen with the \
                    `listen:` address of its configuration.

                    """.utf8))
            throw ExitCode(1)
        }
        let status = try AgentStatus.decode(data)
        switch output {
        case .json: print(String(decoding: status.encoded(), as: UTF8.self))
        case .text: print(status.text)
        }
    }
}
