import ArgumentParser
import Foundation
import MailroomApply
import MailroomSupport

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Make the host match the spec, in order, and record the rollout.",
        discussion: """
            Plans as `mailroom plan` does, asks on a terminal, then applies: network,
            directories, files, units (when systemd is PID 1), removals, then the
            containers wave by wave, each wave waiting for its dependencies to run and
            pass their health checks; Caddy reloads last. Every rollout is recorded in
            <state-dir>/journal.jsonl (see `mailroom history`). A spec not read from git
            is recorded as commit local:<first 12 hex digits of sha256(mailroom.yaml)>.
            Ctrl-C (SIGINT) or SIGTERM stops the rollout after the step in flight: the
            journal records it as interrupted and the next apply completes it. A second
            signal stops at once, as a kill would. Containers without a health check must
            stay running for --settle-time seconds before their wave counts as done.
            Exit status: 0 applied or nothing to do, 1 failed, refused or cancelled,
            2 dry run with changes pending, 64 bad flags, 75 another apply is running,
            130 or 143 stopped by SIGINT or SIGTERM.
            Example:
              mailroom apply examples/seed-guide --dry-run
              mailroom apply examples/seed-guide --yes --rollback-on-failure
            """)

    @OptionGroup var spec: SpecOptions
    @OptionGroup var host: HostOptions
    @OptionGroup var rollout: RolloutOptions
    @Flag(help: "After a failure, re-apply the last successful rollout (the agent always does).")
    var rollbackOnFailure = false
    @Option(help: "The commit to record and label containers with (default: local:<hash of mailroom.yaml>).")
    var commit: String?

    func run() async throws {
        let podman = try await locatePodman()
        let applier = Applier(
            host: host.on(spec).paths, engine: podman, profile: mailroomProfile,
            options: rollout.applyOptions(rollbackOnFailure: rollbackOnFailure))
        let (source, loaded) = try await spec.load(state: host.state)
        try await runRollout(
            {
                let result = try await applier.apply(
                    loaded.text, commit: commit ?? loaded.commit, trigger: .cli, logger: rolloutLogger,
                    confirm: rollout.confirmation(title: "Mailroom apply plan for \(source.name)"))
                // The source state records what is live; a dry run or a failure changes nothing there.
                if result.status == .succeeded || result.status == .noChanges { try source.markApplied(loaded) }
                return result
            }, options: rollout)
    }
}
