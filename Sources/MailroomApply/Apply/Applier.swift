import Foundation
import Logging
import MailroomHost
import MailroomPlan
import MailroomRender
import MailroomSpec
import MailroomSupport

/// Makes the host match a spec and records the rollout. One function, top to bottom:
/// lock → compile → observe → plan → (confirm) → journal start → execute → journal end
/// → on failure, re-apply the last good rollout. Dry run takes the same path with every
/// mutation (podman, files, journal, state) turned off.
///
/// ```swift
/// let applier = Applier(host: HostPaths(), engine: podman, profile: MailuProfile())
/// let result = try await applier.apply(try .directory("/etc/mailroom/spec"), logger: logger)
/// ```
public struct Applier: Sendable {
    public var host: HostPaths
    public var engine: any ContainerEngine
    /// The application profile the spec is compiled with.
    public var profile: any Profile
    /// systemd when it is PID 1 (units own the containers); `nil` runs containers directly.
    public var serviceManager: (any ServiceManager)?
    public var options: ApplyOptions

    /// Asked once with the plan before anything changes; `false` stops with `declined`.
    public typealias Confirmation = @Sendable (Plan) async -> Bool

    public init(host: HostPaths, engine: any ContainerEngine, profile: any Profile,
                serviceManager: (any ServiceManager)? = Systemctl.detect(), options: ApplyOptions = ApplyOptions()) {
        self.host = host
        self.engine = engine
        self.profile = profile
        self.serviceManager = serviceManager
        self.options = options
    }

    /// Applies a spec. `commit` defaults to `SpecText.localCommit` for specs not read from git.
    /// Throws only when it cannot start (another apply holds the lock, the state directory is
    /// unwritable); a refused or failed rollout is a result.
    public func apply(_ spec: SpecText, commit: String? = nil, trigger: Trigger = .cli, logger: Logger,
                      confirm: Confirmation? = nil) async throws -> ApplyResult {
        let lock = options.dryRun ? nil : try ApplyLock.acquire(stateDirectory: host.stateDirectory)
        defer { lock?.release() }
        return try await rollout(spec, commit: commit ?? spec.localCommit, trigger: trigger, rollbackTo: nil, logger: logger, confirm: confirm)
    }

    /// Re-applies the desired state of an earlier rollout, from its archived spec. `selector`
    /// is a rollout id (or unique prefix) or a commit; without one, the latest successful
    /// rollout whose spec differs from the current one. `whileLocked` runs with the result
    /// before the lock is released (the CLI pins the commit there, so no agent reconcile can
    /// come in between).
    public func rollback(to selector: String?, logger: Logger, confirm: Confirmation? = nil,
                         whileLocked: ((ApplyResult) throws -> Void)? = nil) async throws -> ApplyResult {
        let lock = options.dryRun ? nil : try ApplyLock.acquire(stateDirectory: host.stateDirectory)
        defer { lock?.release() }
        let target = try rollbackTarget(selector)
        guard let text = SpecArchive.load(rollout: target.id, in: host.stateDirectory) else {
            throw ApplyError(.specNotArchived, "the spec of rollout \(target.id) is no longer kept in \(SpecArchive.directory(in: host.stateDirectory))")
        }
        let result = try await rollout(SpecText(text, file: "mailroom.yaml@\(target.id)"), commit: target.commit ?? SpecText(text, file: "").localCommit,
                                       trigger: .rollback, rollbackTo: target.id, logger: logger, confirm: confirm)
        try whileLocked?(result)
        return result
    }

    func rollbackTarget(_ selector: String?) throws -> RolloutSummary {
        let history = RolloutHistory.load(stateDirectory: host.stateDirectory)
        if let selector {
            guard let target = history.rollout(selector) ?? history.rollout(commit: selector) else {
                throw ApplyError(.rolloutNotFound, "no rollout or commit '\(selector)' in the journal; see mailroom history")
            }
            return target
        }
        let succeeded = history.rollouts.filter { $0.status == .succeeded }
        guard let current = succeeded.last else {
            throw ApplyError(.nothingToRollBackTo, "no successful rollout in the journal yet")
        }
        let currentText = SpecArchive.load(rollout: current.id, in: host.stateDirectory)
        guard let target = succeeded.dropLast().last(where: { SpecArchive.load(rollout: $0.id, in: host.stateDirectory) != currentText }) else {
            throw ApplyError(.nothingToRollBackTo, "no earlier successful rollout with another spec than \(current.id)")
        }
        return target
    }

    // MARK: - The rollout

    func rollout(_ spec: SpecText, commit: String, trigger: Trigger, rollbackTo: String?, logger: Logger,
                 confirm: Confirmation?) async throws -> ApplyResult {
        let began = Date()
        var logger = logger
        logger[metadataKey: "spec.commit"] = "\(commit)"
        var result = ApplyResult(status: .succeeded, commit: commit, trigger: trigger)
        result.rollbackTo = rollbackTo
        let state = host.stateDirectory
        let journal = Journal(stateDirectory: state, maxBytes: options.journalMaxBytes)
        // Under the lock, a rollout without an end was interrupted by a crash; one that ended
        // `interrupted` was stopped after a step. Either may owe health waits, reloads and the
        // applied commit, which a plan does not see: this rollout completes them.
        let last = options.dryRun ? nil : Journal.incompleteRollout(stateDirectory: state)
        let incomplete = last?.id
        let unfinished = last?.crashed == true ? incomplete : nil
        func finish(_ status: ApplyResult.Status) -> ApplyResult {
            result.status = status
            result.durationMs = Int(Date().timeIntervalSince(began) * 1000)
            return result
        }

        // Compile: an invalid spec or missing secrets change nothing.
        let compiled: CompiledSpec
        do {
            compiled = try Pipeline(host: host, engine: engine, profile: profile).compile(spec)
        } catch let error as SpecError {
            result.diagnostics = error.diagnostics
            result.error = error.description
            try refuse(&result, journal: journal, unfinished: unfinished, logger: logger)
            return finish(.refused)
        }
        if let problem = compiled.secrets.problem {
            result.error = problem
            try refuse(&result, journal: journal, unfinished: unfinished, logger: logger)
            return finish(.refused)
        }

        // Observe and plan.
        let actual = try await Observer(engine: engine, host: host, systemd: serviceManager != nil).observe(compiled.desired)
        var plan = Planner.plan(desired: compiled.desired, actual: actual)
        if !options.leaveAlone.isEmpty { plan = plan.leavingAlone(options.leaveAlone) }
        result.plan = plan
        result.runner = plan.runner
        result.warnings += plan.warnings
        if !plan.conflicts.isEmpty {
            result.error = plan.conflicts.joined(separator: "; ")
            try refuse(&result, journal: journal, unfinished: unfinished, logger: logger)
            return finish(.refused)
        }
        if !options.force, let problem = DowngradeRule.problem(actual: actual, desired: compiled.desired) {
            result.error = problem
            try refuse(&result, journal: journal, unfinished: unfinished, logger: logger)
            return finish(.refused)
        }

        guard plan.hasChanges || incomplete != nil else { return finish(.noChanges) }
        if let confirm, !(await confirm(plan)) { return finish(.declined) }

        let id = options.dryRun ? nil : RolloutID.make()
        logger[metadataKey: "rollout.id"] = "\(id ?? "dry-run")"
        let recorder = AppliedStateRecorder(state: actual.applied, stateDirectory: state, persist: !options.dryRun)
        let log = RolloutLog(rollout: id, journal: options.dryRun ? nil : journal)
        if let id {
            if let unfinished { try closeInterrupted(unfinished, by: id, journal: journal) }
            result.resumed = incomplete
            try journal.rotateIfNeeded()
            try SpecArchive.save(spec.text, rollout: id, in: state)
            var start = startRecord(id, commit: commit, trigger: trigger, plan: plan, desired: compiled.desired)
            start.resumes = result.resumed
            start.rollbackTo = rollbackTo
            try journal.append(start)
            result.warnings += journal.problemsSeenOnOpen.map(\.description)
            result.rollout = id
        }
        logger.debug("rollout started", metadata: ["plan.summary": "\(PlanFormatter.oneLine(plan.summary))"])

        let failure = await RolloutExecution(
            plan: plan, desired: compiled.desired, actual: actual, engine: engine, serviceManager: serviceManager, options: options,
            log: log, recorder: recorder, commit: commit, logger: logger, completing: incomplete != nil
        ).run()
        let stop = await log.interruption
        result.steps = await log.steps
        result.error = failure ?? stop.map { "stopped after its current step: \($0.explanation)" }
        result.warnings += await log.journalErrors.map { "journal: \($0)" }
        if options.dryRun { return finish(.dryRun) }

        let rolloutID = id!
        var status: RolloutStatus = failure != nil ? .failed : stop != nil ? .interrupted : .succeeded
        if status == .succeeded {
            do {
                try await recorder.finish(commit: commit, rollout: rolloutID)
            } catch {
                // Every start gets its end: the host changed, but its record could not be kept.
                status = .failed
                result.error = "state.write \(AppliedState.path(in: state)): \(error)"
            }
        }
        var end = JournalRecord(type: .end, rollout: rolloutID)
        end.status = status
        end.error = result.error
        end.durationMs = Int(end.time.timeIntervalSince(began) * 1000)
        try journal.append(end)
        logger.debug("rollout ended", metadata: ["rollout.status": "\(status.rawValue)"])
        switch status {
        case .succeeded: return finish(.succeeded)
        case .interrupted: return finish(.interrupted)
        default: break
        }

        result = finish(.failed)
        // Not when stopping or superseded: the next rollout re-plans from here anyway.
        let stopping = stop ?? options.currentInterruption()
        if options.rollbackOnFailure && trigger != .autoRollback && stopping == nil {
            result.autoRollback = await autoRollback(after: rolloutID, logger: logger)
            result.durationMs = Int(Date().timeIntervalSince(began) * 1000)
        }
        return result
    }

    /// Re-applies the last successful rollout after `failed`; recorded as its own rollout.
    func autoRollback(after failed: String, logger: Logger) async -> RollbackOutcome {
        let history = RolloutHistory.load(stateDirectory: host.stateDirectory)
        guard let good = history.lastSucceeded(excluding: failed), let text = SpecArchive.load(rollout: good.id, in: host.stateDirectory) else {
            return RollbackOutcome(error: "no earlier successful rollout to return to; the host is left as the failed rollout left it")
        }
        logger.warning("rolling back", metadata: ["rollback.to": "\(good.id)"])
        do {
            let result = try await rollout(SpecText(text, file: "mailroom.yaml@\(good.id)"), commit: good.commit ?? SpecText(text, file: "").localCommit,
                                           trigger: .autoRollback, rollbackTo: good.id, logger: logger, confirm: nil)
            return RollbackOutcome(result)
        } catch {
            return RollbackOutcome(to: good.id, error: "\(error)")
        }
    }

    /// Records a refusal (start and end, nothing in between); nothing on the host changed.
    func refuse(_ result: inout ApplyResult, journal: Journal, unfinished: String?, logger: Logger) throws {
        logger.warning("rollout refused", metadata: ["error": "\(result.error ?? "")"])
        guard !options.dryRun else { return }
        let id = RolloutID.make()
        if let unfinished { try closeInterrupted(unfinished, by: nil, journal: journal) }
        var start = JournalRecord(type: .start, rollout: id)
        start.commit = result.commit
        start.trigger = result.trigger
        start.rollbackTo = result.rollbackTo
        start.summary = result.plan?.summary
        try journal.append(start)
        var end = JournalRecord(type: .end, rollout: id)
        end.status = .refused
        end.error = result.error
        end.durationMs = 0
        try journal.append(end)
        result.rollout = id
    }

    /// Ends an interrupted rollout's record; `by` is the rollout that completes it.
    func closeInterrupted(_ id: String, by completer: String?, journal: Journal) throws {
        let history = RolloutHistory.load(stateDirectory: host.stateDirectory)
        if history.rollout(id)?.status == nil {
            var end = JournalRecord(type: .end, rollout: id)
            end.status = .interrupted
            end.error = "Mailroom stopped before this rollout ended (crash or kill); "
                + (completer.map { "rollout \($0) completes it by re-planning" } ?? "no rollout completed it: the next run had nothing to do or was refused")
            if let started = history.rollout(id)?.started { end.durationMs = Int(end.time.timeIntervalSince(started) * 1000) }
            try journal.append(end)
        }
    }

    func startRecord(_ id: String, commit: String, trigger: Trigger, plan: Plan, desired: DesiredState) -> JournalRecord {
        var start = JournalRecord(type: .start, rollout: id)
        start.commit = commit
        start.trigger = trigger
        start.runner = plan.runner.rawValue
        start.summary = plan.summary
        start.changes = PlanFormatter.changeLines(plan)
        start.applicationVersion = desired.applicationVersion
        return start
    }
}

/// The rule for applications whose upgrades cannot be undone (the profile says which, and
/// names the application): a rollout never lowers the version of a running deployment.
public enum DowngradeRule {
    /// Why applying `desired` would lower the application's version on a running deployment, if it would.
    public static func problem(actual: ActualState, desired: DesiredState) -> String? {
        guard let running = actual.applied.applicationVersion, let wanted = desired.application, running != wanted.version,
            actual.containers.values.contains(where: { $0.managed && $0.isRunning })
        else { return nil }
        let name = wanted.application
        switch ApplicationVersion.compare(wanted.version, running) {
        case .older?:
            return "this would lower \(name) from \(running) to \(wanted.version) on a running deployment; \(name) upgrades migrate data and cannot be undone. Pass --force to do it anyway"
        case nil:
            return "cannot tell whether \(name) \(wanted.version) is older than the running \(running); pass --force to apply it"
        default:
            return nil
        }
    }
}
