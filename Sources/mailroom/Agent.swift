import ArgumentParser
import Foundation
import Logging
import MailroomAgent
import MailroomHost

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Keep the host in sync with the spec in git, until SIGTERM.",
        discussion: """
            Reads one configuration file (see contrib/agent.yaml). Reconciles on a new
            commit (inotify on a local bare repository's refs, polling for remotes, or
            a signed webhook), on edits under the override directories and beside the
            generated files (debounced), when a managed container dies or is removed,
            every resync interval and on SIGHUP. One rollout at a time; a failed one
            rolls back to the last good commit, which stays until a newer commit.
            Serves /healthz, /status, /metrics and POST /webhook on the listen address.
            With NOTIFY_SOCKET set, sends READY=1 after the first reconcile and
            WATCHDOG=1 when WATCHDOG_USEC is set. SIGTERM stops a rollout after its
            current step, records it as interrupted in the journal and exits 0; the
            next start completes it.
            Example:
              mailroom agent --config /etc/mailroom/agent.yaml
              mailroom agent --config contrib/agent.yaml --dry-run
            """)

    @Option(help: "The agent configuration file.", completion: .file()) var config: String = "/etc/mailroom/agent.yaml"
    @Flag(help: "Watch and record the plans it would apply in <state-dir>/dry-run.jsonl; change nothing.") var dryRun =
        false
    @Option(help: "Log level (trace, debug, info, notice, warning, error).") var logLevel: String = "info"

    func run() async throws {
        // First: podman and every other child must not inherit NOTIFY_SOCKET.
        let notify = SystemdNotify.takeFromEnvironment()
        var configuration: AgentConfiguration
        do {
            configuration = try AgentConfiguration.load(file: config)
        } catch let error as AgentConfigurationError {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
        for warning in configuration.warnings { FileHandle.standardError.write(Data("\(warning)\n".utf8)) }
        if dryRun { configuration.dryRun = true }
        var logger = Logger(label: "mailroom.agent")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let podman = PodmanCLI.locate()
        guard let podman else {
            FileHandle.standardError.write(
                Data("podman is not installed: apt-get install podman runc catatonit\n".utf8))
            throw ExitCode(1)
        }
        let engine: any ContainerEngine = await PodmanSocket.locate(cli: podman) ?? podman
        do {
            let agent = try Agent(
                configuration: configuration, engine: engine, profile: mailroomProfile,
                podmanExecutable: podman.executable,
                serviceManager: Systemctl.detect(), logger: logger, notify: notify,
                checks: agentLiveChecks(
                    stateDirectory: configuration.stateDirectory, hostName: configuration.hostName,
                    skipOutside: !configuration.checkOutside))
            try await agent.run()
        } catch let error as AgentError {
            FileHandle.standardError.write(Data("mailroom agent: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
