import ArgumentParser
import Foundation
import Mailroom

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
            Mailu upgrades migrate data and cannot be undone.
            Exit status: as `mailroom apply`.
            Example:
              mailroom rollback --dry-run
              mailroom rollback --to 20250612-101502-3f9a --yes
            """)

    @OptionGroup var host: HostOptions
    @Option(name: .customLong("to"), help: "Rollout id (or unique prefix) or commit to return to.") var target: String?
    @OptionGroup var rollout: RolloutOptions

    func run() async throws {
        let podman = try await locatePodman()
        // A failed rollback returns to the state it started from, as the agent would.
        let applier = Applier(host: host.paths, engine: podman, options: rollout.applyOptions(rollbackOnFailure: true))
        try await runRollout({
            try await applier.rollback(to: target, logger: rolloutLogger, confirm: rollout.confirmation(title: "Mailroom rollback plan"))
        }, options: rollout)
    }
}
