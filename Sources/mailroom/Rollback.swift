import ArgumentParser
import Foundation
import MailroomAgent
import MailroomApply
import MailroomSource
import MailroomSupport

struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Re-apply the desired state of an earlier rollout.",
        discussion: """
            Without --to: the latest successful rollout whose spec differs from the
            current one. --to takes a rollout id (or a unique prefix) or a commit.
            Each rollout's spec is kept in <state-dir>/specs/, so no git is needed.
            A rollback is a rollout of its own, recorded in the journal. It refuses
            to lower the Mailu version of a running deployment unless --force:
            Mailu upgrades migrate data and cannot be undone. The rolled-back commit
            is pinned: a running agent stops syncing until `mailroom resume` or a
            new commit on the branch, and is asked (on --listen) to pick the pin up.
            Exit status: as `mailroom apply`.
            Example:
              mailroom rollback --dry-run
              mailroom rollback --to 20250612-101502-3f9a --yes
            """)

    @OptionGroup var host: HostOptions
    @Option(
        name: .customLong("host"),
        help: "Which of the spec's hosts: this machine is (default: its hostname; not needed for a single-host spec).")
    var hostName: String?
    @Option(name: .customLong("to"), help: "Rollout id (or unique prefix) or commit to return to.") var target: String?
    @OptionGroup var rollout: RolloutOptions
    @Option(help: "The agent's listen address, to tell it about the pin: IP:PORT, or [IPV6]:PORT.")
    var listen: ListenAddress = .agentDefault

    func run() async throws {
        let podman = try await locatePodman()
        // A failed rollback returns to the state it started from, as the agent would.
        var host = host
        host.hostName = hostName
        let applier = Applier(
            host: host.paths, engine: podman, profile: mailroomProfile,
            options: rollout.applyOptions(rollbackOnFailure: true))
        let stateDirectory = host.stateDirectory
        let dryRun = rollout.dryRun
        let listen = listen
        try await runRollout(
            {
                var pinned = false
                let result = try await applier.rollback(
                    to: target, logger: rolloutLogger, confirm: rollout.confirmation(title: "Mailroom rollback plan")
                ) { result in
                    guard !dryRun, result.status == .succeeded || result.status == .noChanges else { return }
                    // Pin, under the apply lock: the agent keeps this commit until `mailroom resume` or a new commit.
                    let tip = try? SourceStateStore(path: StateDirectory(stateDirectory).sourceState).load()?
                        .lastFetched?.commit.description
                    try AgentControl(
                        pinnedCommit: result.commit, branchTipAtPin: tip, reason: "mailroom rollback", since: Date()
                    )
                    .save(stateDirectory: stateDirectory)
                    pinned = true
                }
                if pinned {
                    FileHandle.standardError.write(
                        Data(
                            "Pinned at \(result.commit.prefix(12)): the agent does not sync until `mailroom resume` or a new commit.\n"
                                .utf8))
                    // Best effort: an agent on this host shows the pin at once; without one, nothing to tell.
                    _ = try? await AgentClient.post(listen, path: "/resync")
                }
                return result
            }, options: rollout)
    }
}
