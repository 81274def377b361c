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

    public init(
        host: HostPaths, engine: any ContainerEngine, profile: any Profile,
        serviceManager: (any ServiceManager)? = Systemctl.detect(), options: ApplyOptions = ApplyOptions()
    ) {
        self.host = host
        self.engine = engine
        self.profile = profile
        self.serviceManager = serviceManager
        self.options = options
    }

    /// Applies a spec. `commit` defaults to `SpecText.localCommit` for specs not read from git.
    /// Throws only when it cannot start (another apply holds the lock, the state directory is
    /// unwritable); a refused or failed rollout is a result.
    public func apply(
        _ spec: SpecText, commit: String? = nil, trigger: Trigger = .cli, logger: Logger,
        confirm: Confirmation? = nil
    ) async throws -> ApplyResult {
        let lock = options.dryRun ? nil : try ApplyLock.acquire(stateDirectory: host.stateDirectory)
        defer { lock?.release() }
        return try await rollout(
            spec, commit: commit ?? spec.localCommit, trigger: trigger, rollbackTo: nil, logger: logger,
            confirm: confirm)
    }

    /// Re-applies the desired state of an earlier rollout, from its archived spec. `selector`
    /// is a rollout id (or unique prefix) or a commit; without one, the latest successful
    /// rollout whose spec differs from the current one. `whileLocked` runs with the result
    /// before the lock is released (the CLI pins the commit there, so no agent reconcile can
    /// come in between).
    public func rollback(
        to selector: String?, logger: Logger, confirm: Confirmation? = nil,
        whileLocked: ((ApplyResult) throws -> Void)? = nil
    ) async throws -> ApplyResult {
        let lock = options.dryRun ? nil : try ApplyLock.acquire(stateDirectory: host.stateDirectory)
        defer { lock?.release() }
        let target = try rollbackTarget(selector)
        guard let text = SpecArchive.load(rollout: target.id, in: host.stateDirectory) else {
            throw ApplyError(
                .specNotArchived,
                "the spec of rollout \(target.id) is no longer kept in \(SpecArchive.directory(in: host.stateDirectory))"
            )
        }
        let result = try await rollout(
            SpecText(text, file: "mailroom.yaml@\(target.id)"),
            commit: target.commit ?? SpecText(text, file: "").localCommit,
            trigger: .rollback, rollbackTo: target.id, logger: logger, confirm: confirm)
        try whileLocked?(result)
        return result
    }

    func rollbackTarget(_ selector: String?) throws -> RolloutSummary {
        let history = RolloutHistory.load(stateDirectory: host.stateDirectory)
        if let selector {
            guard let target = history.rollout(selector) ?? history.rollout(commit: selector) else {
                throw ApplyError(
                    .rolloutNotFound, "no rollout or commit '\(selector)' in the journal; see mailroom history")
            }
            return target
        }
        let succeeded = history.rollouts.filter { $0.status == .succeeded }
        guard let current = succeeded.last else {
            throw ApplyError(.nothingToRollBackTo, "no successful rollout in the journal yet")
        }
        let currentText = SpecArchive.load(rollout: current.id, in: host.stateDirectory)
        guard
            let target = succeeded.dropLast().last(where: {
                SpecArchive.load(rollout: $0.id, in: host.stateDirectory) != currentText
            })
        else {
            throw ApplyError(.nothingToRollBackTo, "no earlier successful rollout with another spec than \(current.id)")
        }
        return target
    }

    // MARK: - The rollout

    /// One rollout, top to bottom. Refused, unchanged, declined and dry runs end early.
    func rollout(
        _ spec: SpecText, commit: String, trigger: Trigger, rollbackTo: String?, logger: Logger,
        confirm: Confirmation?
    ) async throws -> ApplyResult {
        var run = beginRollout(commit: commit, trigger: trigger, rollbackTo: rollbackTo, logger: logger)
        guard let compiled = try compile(spec, &run) else { return run.finish(.refused) }
        if !options.dryRun { removeStaleTemporaries(compiled.desired, logger: run.logger) }
        guard let (actual, plan) = try await observeAndPlan(compiled.desired, &run) else { return run.finish(.refused) }
        guard plan.hasChanges || run.incomplete != nil else {
            return try await recordUnchanged(spec, plan: plan, desired: compiled.desired, actual: actual, &run)
        }
        if let confirm, !(await confirm(plan)) { return run.finish(.declined) }
        if let end = try await pullImages(plan, &run) { return run.finish(end) }

        let id = options.dryRun ? nil : RolloutID.make()
        run.logger[metadataKey: "rollout.id"] = "\(id ?? "dry-run")"
        let recorder = AppliedStateRecorder(
            state: actual.applied, stateDirectory: host.stateDirectory,
            persist: !options.dryRun)
        if let id {
            try journalStart(id, spec: spec, plan: plan, desired: compiled.desired, &run)
            journalSteps(run.result.steps, rollout: id, &run)
        }
        let (failure, stop) = await execute(
            plan, desired: compiled.desired, actual: actual, rollout: id,
            recorder: recorder, &run)
        guard let id else { return run.finish(.dryRun) }
        switch try await journalEnd(id, failure: failure, stop: stop, recorder: recorder, &run) {
        case .succeeded: return run.finish(.succeeded)
        case .interrupted: return run.finish(.interrupted)
        default: return await finishFailed(id, stop: stop, &run)
        }
    }

    /// Under the lock, a rollout without an end was interrupted by a crash; one that ended
    /// `interrupted` was stopped after a step. Either may owe health waits, reloads and the
    /// applied commit, which a plan does not see: this rollout completes them.
    func beginRollout(commit: String, trigger: Trigger, rollbackTo: String?, logger: Logger) -> RolloutRun {
        let began = Date()
        var logger = logger
        logger[metadataKey: "spec.commit"] = "\(commit)"
        var result = ApplyResult(status: .succeeded, commit: commit, trigger: trigger)
        result.rollbackTo = rollbackTo
        let state = host.stateDirectory
        let journal = Journal(stateDirectory: state, maxBytes: options.journalMaxBytes)
        let last = options.dryRun ? nil : Journal.incompleteRollout(stateDirectory: state)
        return RolloutRun(
            began: began, result: result, logger: logger, journal: journal, incomplete: last?.id,
            unfinished: last?.crashed == true ? last?.id : nil)
    }

    /// Compiles the spec: an invalid spec or missing secrets change nothing (refused, nil).
    func compile(_ spec: SpecText, _ run: inout RolloutRun) throws -> CompiledSpec? {
        do {
            let compiled = try Pipeline(host: host, engine: engine, profile: profile).compile(spec)
            guard let problem = compiled.secrets.problem else { return compiled }
            run.result.error = problem
        } catch let error as SpecError {
            run.result.diagnostics = error.diagnostics
            run.result.error = error.description
        }
        try refuse(&run)
        return nil
    }

    /// Observes the host and plans. A conflict, or lowering the version of a running application
    /// (without `force`), changes nothing (refused, nil).
    func observeAndPlan(_ desired: DesiredState, _ run: inout RolloutRun) async throws -> (ActualState, Plan)? {
        let actual = try await Observer(engine: engine, host: host, systemd: serviceManager != nil).observe(desired)
        var plan = Planner.plan(desired: desired, actual: actual)
        if !options.leaveAlone.isEmpty { plan = plan.leavingAlone(options.leaveAlone) }
        plan = try await ImageCheck.check(plan, desired: desired, engine: engine)
        run.result.plan = plan
        run.result.runner = plan.runner
        run.result.warnings += plan.warnings
        if !plan.conflicts.isEmpty {
            run.result.error = plan.conflicts.joined(separator: "; ")
        } else if !options.force, let problem = DowngradeRule.problem(actual: actual, desired: desired) {
            run.result.error = problem
        } else {
            return (actual, plan)
        }
        try refuse(&run)
        return nil
    }

    /// A plan without changes. When the commit is not the one recorded as applied (a revert, a
    /// commit that only touched a README), it is recorded as a rollout without steps: the
    /// history shows it and it becomes the applied commit, so the agent stops waiting past the
    /// commit before it. The same commit again records nothing.
    func recordUnchanged(
        _ spec: SpecText, plan: Plan, desired: DesiredState, actual: ActualState, _ run: inout RolloutRun
    ) async throws -> ApplyResult {
        guard !options.dryRun, actual.applied.commit != run.result.commit else { return run.finish(.noChanges) }
        let id = RolloutID.make()
        run.logger[metadataKey: "rollout.id"] = "\(id)"
        try journalStart(id, spec: spec, plan: plan, desired: desired, &run)
        let recorder = AppliedStateRecorder(state: actual.applied, stateDirectory: host.stateDirectory, persist: true)
        let status = try await journalEnd(id, failure: nil, stop: nil, recorder: recorder, &run)
        return run.finish(status == .succeeded ? .noChanges : .failed)
    }

    /// Pulls the images the plan needs that podman lacks, before anything on the host changes
    /// (a dry run only lists them). The pulls become the rollout's first steps. Returns how the
    /// rollout ends when it cannot go on: refused when a pull failed (nothing was changed), or
    /// interrupted when asked to stop before the pulls were done.
    func pullImages(_ plan: Plan, _ run: inout RolloutRun) async throws -> ApplyResult.Status? {
        guard !plan.missingImages.isEmpty else { return nil }
        if options.dryRun {
            let now = Date()
            run.result.steps = plan.missingImages.map {
                StepRecord(
                    action: .imagePull, target: $0, command: ["podman", "pull", "--quiet", $0], started: now,
                    ended: now,
                    result: .planned)
            }
            return nil
        }
        let logger = run.logger
        let progress = options.pullProgress
        let puller = ImagePuller(
            engine: engine, concurrency: options.concurrency,
            progress: { event in
                progress?(event)
                switch event {
                case .started(let image): logger.info("pulling image", metadata: ["image": "\(image)"])
                case .pulled(let image, let ms):
                    logger.info("pulled image", metadata: ["image": "\(image)", "duration.ms": "\(ms)"])
                case .failed(let image, let reason):
                    // A warning: the refusal that follows is the error (the CLI prints it once).
                    logger.warning("image pull failed", metadata: ["image": "\(image)", "error": "\(reason)"])
                }
            }, interruption: { options.currentInterruption() })
        let outcome = await puller.pull(plan.missingImages)
        run.result.steps = outcome.steps
        if let failure = outcome.failure {
            run.result.error = failure + "; nothing was changed"
            try refuse(&run)
            return .refused
        }
        if let why = outcome.interruption {
            run.result.error = "stopped while pulling images, before changing anything: \(why.explanation)"
            return .interrupted
        }
        return nil
    }

    /// Steps taken before the start record (the image pulls), journalled after it.
    func journalSteps(_ steps: [StepRecord], rollout id: String, _ run: inout RolloutRun) {
        for step in steps {
            var record = JournalRecord(type: .step, rollout: id, time: step.ended)
            record.step = step
            do { try run.journal.append(record) } catch { run.result.warnings.append("journal: \(error)") }
        }
    }

    /// The journal's start record, after closing a crashed rollout's record; the spec is archived
    /// under the rollout, for `rollback`.
    func journalStart(_ id: String, spec: SpecText, plan: Plan, desired: DesiredState, _ run: inout RolloutRun) throws {
        if let unfinished = run.unfinished { try closeInterrupted(unfinished, by: id, journal: run.journal) }
        run.result.resumed = run.incomplete
        try run.journal.rotateIfNeeded()
        try SpecArchive.save(spec.text, rollout: id, in: host.stateDirectory)
        var start = startRecord(
            id, commit: run.result.commit, trigger: run.result.trigger, plan: plan,
            desired: desired)
        start.resumes = run.result.resumed
        start.rollbackTo = run.result.rollbackTo
        try run.journal.append(start)
        run.result.warnings += run.journal.problemsSeenOnOpen.map(\.description)
        run.result.rollout = id
    }

    /// Runs the plan's steps into the result; returns the first failure and why it stopped early, if it did.
    func execute(
        _ plan: Plan, desired: DesiredState, actual: ActualState, rollout id: String?,
        recorder: AppliedStateRecorder,
        _ run: inout RolloutRun
    ) async -> (failure: String?, stop: RolloutInterruption?) {
        let log = RolloutLog(rollout: id, journal: options.dryRun ? nil : run.journal)
        run.logger.debug("rollout started", metadata: ["plan.summary": "\(PlanFormatter.oneLine(plan.summary))"])
        let failure = await RolloutExecution(
            plan: plan, desired: desired, actual: actual, engine: engine, serviceManager: serviceManager,
            options: options, log: log, recorder: recorder, commit: run.result.commit, logger: run.logger,
            completing: run.incomplete != nil
        ).run()
        let stop = await log.interruption
        run.result.steps += await log.steps
        run.result.error = failure ?? stop.map { "stopped after its current step: \($0.explanation)" }
        run.result.warnings += await log.journalErrors.map { "journal: \($0)" }
        return (failure, stop)
    }

    /// How the rollout ended, in the journal's end record; a success first records its commit
    /// as applied.
    func journalEnd(
        _ id: String, failure: String?, stop: RolloutInterruption?, recorder: AppliedStateRecorder,
        _ run: inout RolloutRun
    ) async throws -> RolloutStatus {
        var status: RolloutStatus = failure != nil ? .failed : stop != nil ? .interrupted : .succeeded
        if status == .succeeded {
            do {
                try await recorder.finish(commit: run.result.commit, rollout: id)
            } catch {
                // Every start gets its end: the host changed, but its record could not be kept.
                status = .failed
                let path = AppliedState.path(in: host.stateDirectory)
                run.result.error = "\(StepAction.stateWrite.rawValue) \(path): \(error)"
            }
        }
        var end = JournalRecord(type: .end, rollout: id)
        end.status = status
        end.error = run.result.error
        end.durationMs = Int(end.time.timeIntervalSince(run.began) * 1000)
        try run.journal.append(end)
        run.logger.debug("rollout ended", metadata: ["rollout.status": "\(status.rawValue)"])
        return status
    }

    /// A failed rollout, rolled back to the last good one unless it is a rollback itself or the
    /// rollout was stopping or superseded (the next rollout re-plans from here anyway).
    func finishFailed(_ id: String, stop: RolloutInterruption?, _ run: inout RolloutRun) async -> ApplyResult {
        var result = run.finish(.failed)
        let stopping = stop ?? options.currentInterruption()
        if options.rollbackOnFailure && result.trigger != .autoRollback && stopping == nil {
            result.autoRollback = await autoRollback(after: id, logger: run.logger)
            result.durationMs = Int(Date().timeIntervalSince(run.began) * 1000)
        }
        return result
    }

    /// Re-applies the last successful rollout after `failed`; recorded as its own rollout.
    func autoRollback(after failed: String, logger: Logger) async -> RollbackOutcome {
        let history = RolloutHistory.load(stateDirectory: host.stateDirectory)
        guard let good = history.lastSucceeded(excluding: failed),
            let text = SpecArchive.load(rollout: good.id, in: host.stateDirectory)
        else {
            return RollbackOutcome(
                error: "no earlier successful rollout to return to; the host is left as the failed rollout left it")
        }
        logger.warning("rolling back", metadata: ["rollback.to": "\(good.id)"])
        do {
            let result = try await rollout(
                SpecText(text, file: "mailroom.yaml@\(good.id)"),
                commit: good.commit ?? SpecText(text, file: "").localCommit,
                trigger: .autoRollback, rollbackTo: good.id, logger: logger, confirm: nil)
            return RollbackOutcome(result)
        } catch {
            return RollbackOutcome(to: good.id, error: "\(error)")
        }
    }

    /// Records a refusal (start and end, nothing in between); nothing on the host changed.
    func refuse(_ run: inout RolloutRun) throws {
        run.logger.warning("rollout refused", metadata: ["error": "\(run.result.error ?? "")"])
        guard !options.dryRun else { return }
        let id = RolloutID.make()
        if let unfinished = run.unfinished { try closeInterrupted(unfinished, by: nil, journal: run.journal) }
        var start = JournalRecord(type: .start, rollout: id)
        start.commit = run.result.commit
        start.trigger = run.result.trigger
        start.rollbackTo = run.result.rollbackTo
        start.summary = run.result.plan?.summary
        try run.journal.append(start)
        journalSteps(run.result.steps, rollout: id, &run)
        var end = JournalRecord(type: .end, rollout: id)
        end.status = .refused
        end.error = run.result.error
        // Refused before any change, but not at once when pulls were tried first.
        end.durationMs = Int(end.time.timeIntervalSince(run.began) * 1000)
        try run.journal.append(end)
        run.result.rollout = id
    }

    /// Ends an interrupted rollout's record; `by` is the rollout that completes it.
    func closeInterrupted(_ id: String, by completer: String?, journal: Journal) throws {
        let history = RolloutHistory.load(stateDirectory: host.stateDirectory)
        if history.rollout(id)?.status == nil {
            var end = JournalRecord(type: .end, rollout: id)
            end.status = .interrupted
            end.error =
                "Mailroom stopped before this rollout ended (crash or kill); "
                + (completer.map { "rollout \($0) completes it by re-planning" }
                    ?? "no rollout completed it: the next run had nothing to do or was refused")
            // Its duration runs to the last thing it was seen doing, not to when the crash was noticed.
            if let killed = history.rollout(id) {
                let lastSeen = killed.steps.map(\.ended).max() ?? killed.started
                end.durationMs = max(0, Int(lastSeen.timeIntervalSince(killed.started) * 1000))
            }
            try journal.append(end)
        }
    }

    func startRecord(_ id: String, commit: String, trigger: Trigger, plan: Plan, desired: DesiredState) -> JournalRecord
    {
        var start = JournalRecord(type: .start, rollout: id)
        start.commit = commit
        start.trigger = trigger
        start.runner = plan.runner.rawValue
        start.summary = plan.summary
        start.changes = PlanFormatter.changeLines(plan) + PlanFormatter.objectChangeLines(plan)
        start.applicationVersion = desired.applicationVersion
        return start
    }
}

/// One rollout in flight: its result so far, and what its steps share.
struct RolloutRun {
    let began: Date
    var result: ApplyResult
    /// With the commit and, once there is one, the rollout id.
    var logger: Logger
    let journal: Journal
    /// The interrupted rollout this one completes, if any.
    let incomplete: String?
    /// The same, when it crashed: its record has no end yet.
    let unfinished: String?

    /// The result with its final status and duration.
    mutating func finish(_ status: ApplyResult.Status) -> ApplyResult {
        result.status = status
        result.durationMs = Int(Date().timeIntervalSince(began) * 1000)
        return result
    }
}

/// The rule for applications whose upgrades cannot be undone (the profile says which, and
/// names the application): a rollout never lowers the version of a running deployment.
public enum DowngradeRule {
    /// Why applying `desired` would lower the application's version on a running deployment, if it would.
    public static func problem(actual: ActualState, desired: DesiredState) -> String? {
        guard let running = actual.applied.applicationVersion, let wanted = desired.application,
            running != wanted.version,
            actual.containers.values.contains(where: { $0.managed && $0.isRunning })
        else { return nil }
        let name = wanted.application
        switch ApplicationVersion.compare(wanted.version, running) {
        case .older?:
            return
                "this would lower \(name) from \(running) to \(wanted.version) on a running deployment; \(name) upgrades migrate data and cannot be undone. Pass --force to do it anyway"
        case nil:
            return
                "cannot tell whether \(name) \(wanted.version) is older than the running \(running); pass --force to apply it"
        default:
            return nil
        }
    }
}
