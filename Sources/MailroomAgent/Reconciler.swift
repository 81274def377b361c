import Foundation
import Logging
import MailroomApply
import MailroomPlan
import MailroomRender
import MailroomSource
import MailroomSupport
import ServiceLifecycle

/// Why the agent reconciles. Reasons that arrive during a rollout are merged into one follow-up.
public enum ReconcileReason: Hashable, Sendable, CustomStringConvertible {
    case startup
    /// A fetch found a new commit (inotify on the refs, a poll, a webhook).
    case git
    /// Files under an override directory or beside a generated file changed.
    case files
    /// A managed container died or was removed.
    case container(String)
    /// The periodic full resync, or SIGHUP.
    case resync
    /// `mailroom suspend`/`resume`/`rollback` changed the control file.
    case control

    var isContainer: Bool {
        if case .container = self { true } else { false }
    }

    public var description: String {
        switch self {
        case .startup: "startup"
        case .git: "git"
        case .files: "files"
        case .container: "podman"
        case .resync: "resync"
        case .control: "control"
        }
    }
}

/// Serialises rollouts: one reconcile at a time, through the existing ``Applier``. Triggers
/// call ``request(_:)`` from any thread; the service loop takes every pending reason at once,
/// so events during a rollout become one follow-up.
///
/// After a failed or refused commit the host stays on (or returns to) the last good rollout,
/// and that commit is not tried again until the branch moves.
public actor Reconciler: Service {
    private let configuration: AgentConfiguration
    private let source: GitSource
    private let applier: Applier
    private let logger: Logger
    private let pending = LockedValue(Set<ReconcileReason>())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// The newest fetched commit, readable while a rollout runs (a newer one supersedes it).
    private let newestCommit = LockedValue<String?>(nil)
    /// Set on graceful shutdown (SIGTERM): the running rollout stops after its current step.
    private let stopping = LockedValue(false)
    /// Containers held by their self-heal backoff, and the wake-up scheduled for each: they are
    /// left alone until then, so the wait never holds up other reconciles.
    private var wakeUpScheduled: [String: ContinuousClock.Instant] = [:]
    /// Another process holds the apply lock; retried every second, logged once.
    private var waitingForLock = false

    private var latest: SpecSnapshot?
    private var budget: SelfHealBudget
    private var firstReconcileDone = false
    private var onFirstReconcile: (@Sendable () -> Void)?
    private var onDesiredChange: (@Sendable (DesiredState) -> Void)?
    private var desiredCommit: String?
    private var onRolloutStart: (@Sendable (_ commit: String, _ reasons: Set<ReconcileReason>) -> Void)?
    public private(set) var status = AgentStatus()
    public private(set) var metrics = AgentMetrics()

    public init(configuration: AgentConfiguration, source: GitSource, applier: Applier, logger: Logger) {
        self.configuration = configuration
        self.source = source
        var applier = applier
        applier.options.dryRun = configuration.dryRun
        applier.options.rollbackOnFailure = true
        self.applier = applier
        self.logger = logger
        budget = SelfHealBudget(restarts: configuration.selfHealRestarts, window: configuration.selfHealWindow)
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        status.dryRun = configuration.dryRun
        status.appliedCommit = Self.lastGood(in: configuration.stateDirectory)?.commit
    }

    /// The last successful rollout's spec and commit, from the journal: whatever made it (this
    /// agent, `mailroom apply`, or `mailroom rollback` while the agent ran).
    static func lastGood(in stateDirectory: String) -> (spec: SpecText, commit: String)? {
        guard let good = RolloutHistory.load(stateDirectory: stateDirectory).lastSucceeded(),
            let text = SpecArchive.load(rollout: good.id, in: stateDirectory)
        else { return nil }
        return (SpecText(text, file: "mailroom.yaml@\(good.id)"), good.commit ?? SpecText(text, file: "").localCommit)
    }

    /// Called once, after the first reconcile (sd_notify `READY=1`).
    public func setHooks(
        onFirstReconcile: (@Sendable () -> Void)?, onDesiredChange: (@Sendable (DesiredState) -> Void)?
    ) {
        self.onFirstReconcile = onFirstReconcile
        self.onDesiredChange = onDesiredChange
    }

    /// Called as each rollout starts (the benchmark's finish line).
    public func setRolloutObserver(_ observer: (@Sendable (_ commit: String, _ reasons: Set<ReconcileReason>) -> Void)?)
    {
        onRolloutStart = observer
    }

    /// Asks for a reconcile; merged with any pending one. Callable from any thread.
    public nonisolated func request(_ reason: ReconcileReason) {
        pending.withLock { _ = $0.insert(reason) }
        wake.yield()
    }

    /// Takes a fetch's outcome from the ``SourceWatcher``.
    public func sourceUpdated(_ update: SourceWatcher.Update) {
        switch update.result {
        case .success(let result):
            status.currentCommit = result.commit.description
            newestCommit.withLock { $0 = result.commit.description }
            if latest?.commit != result.commit {
                latest = result.snapshot
                request(.git)
            }
        case .failure(let error):
            note("fetch failed: \(error)")
        }
    }

    /// The service loop: one reconcile at a time until graceful shutdown. On SIGTERM a running
    /// rollout stops after its current step and writes its journal end before the loop ends.
    public func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in wakeups.cancelOnGracefulShutdown() {
                var reasons = pending.withLock { reasons in
                    defer { reasons = [] }
                    return reasons
                }
                guard !reasons.isEmpty else { continue }
                if reasons.allSatisfy(\.isContainer) {
                    // podman reports a removal as `died` then `remove`: let them settle into one.
                    try? await Task.sleep(for: configuration.debounce)
                    reasons.formUnion(
                        pending.withLock { reasons in
                            defer { reasons = [] }
                            return reasons
                        })
                }
                guard !stopping.current else { return }
                await reconcile(reasons)
            }
        } onGracefulShutdown: { [stopping] in
            stopping.withLock { $0 = true }
        }
    }

    /// The steps that put a missing or stopped container back (counted against the self-heal budget).
    static let putBackActions: Set<StepAction> = [.containerCreate, .containerStart, .systemdStart]

    // MARK: - One reconcile

    /// One reconcile, top to bottom: the pin, the self-heal budget, the commit to apply, the
    /// rollout, then the put-backs it made.
    func reconcile(_ reasons: Set<ReconcileReason>) async {
        defer { noteFirstReconcile() }
        for reason in reasons { metrics.reconciles[reason.description, default: 0] += 1 }
        guard let latest else { return }
        let tip = latest.commit.description
        guard !syncPaused(tip: tip, reasons: reasons) else { return }

        refreshBudget(reasons, tip: tip)
        let now = ContinuousClock.now
        let held = backedOffContainers(reasons, now: now)
        guard !onlyWaitingContainers(reasons, held: held) else { return }
        guard let (spec, target) = commitToApply(latest, tip: tip) else { return }

        let spent = budget.spent(at: now)
        let applier = configuredApplier(leavingAlone: spent.union(held.keys), supersededAfter: tip)
        status.reconciling = true
        defer {
            status.reconciling = false
            status.lastReconcile = Date()
        }
        let began = ContinuousClock.now
        let appliedBefore = status.appliedCommit
        onRolloutStart?(target, reasons)
        guard let result = await apply(spec, commit: target, with: applier, reasons: reasons) else { return }
        record(
            result, target: target, tip: tip, snapshot: target == tip ? latest : nil,
            seconds: (ContinuousClock.now - began).seconds)
        if target == appliedBefore { spendBudgetOnPutBacks(result) }
        markDegraded(leftAlone: result, spent: spent)
        // After the rollout, so that the directories it made exist to be watched.
        updateDesired(spec: spec, commit: target)
    }

    /// Calls the first-reconcile hook once, after the first reconcile with a fetched commit.
    private func noteFirstReconcile() {
        if !firstReconcileDone, latest != nil {
            firstReconcileDone = true
            onFirstReconcile?()
        }
    }

    /// Whether sync is off: suspended, or pinned by `mailroom rollback`. A pin lasts until the
    /// branch moves past the tip it was made at; this ends it then.
    private func syncPaused(tip: String, reasons: Set<ReconcileReason>) -> Bool {
        var control = AgentControl.load(stateDirectory: configuration.stateDirectory)
        if control.pinnedCommit != nil, let pinnedAt = control.branchTipAtPin, pinnedAt != tip {
            logger.info(
                "New commit ends the pin",
                metadata: ["agent.pinned": "\(control.pinnedCommit ?? "")", "spec.commit": "\(tip)"])
            control = AgentControl()
            try? control.save(stateDirectory: configuration.stateDirectory)
        }
        status.sync = control.summary
        status.suspended = control.suspended || control.pinnedCommit != nil
        status.pinnedCommit = control.pinnedCommit
        // `mailroom rollback` made the host match the pinned commit, outside this process.
        if let pinned = control.pinnedCommit { status.appliedCommit = pinned }
        if status.suspended {
            logger.debug(
                "Sync suspended; not reconciling",
                metadata: ["agent.reasons": "\(reasons.map(\.description).sorted())"])
        }
        return status.suspended
    }

    /// A new commit gives degraded containers a fresh budget. File events do not: the agent's
    /// own writes of generated files would end every degraded state at once. Containers reported
    /// by podman events are only checked here; a restart is counted against the budget when the
    /// plan really puts one back (the agent's own recreations are events too).
    private func refreshBudget(_ reasons: Set<ReconcileReason>, tip: String) {
        if reasons.contains(.git) && tip != status.badCommit {
            budget.reset()
            wakeUpScheduled = [:]
        }
        for case .container(let name) in reasons where !budget.allows(name) {
            logger.warning(
                "Self-heal budget spent; container left alone until the next commit",
                metadata: ["container.name": "\(name)"])
        }
        status.degraded = budget.degraded.sorted()
    }

    /// The containers held by their self-heal backoff, with the instant each may be put back.
    /// A container put back recently waits before its next put-back, whichever trigger finds it
    /// missing; a wake-up scheduled at the end of the wait puts it back.
    private func backedOffContainers(
        _ reasons: Set<ReconcileReason>,
        now: ContinuousClock.Instant
    ) -> [String: ContinuousClock.Instant] {
        let held = budget.held(at: now)
        for (name, until) in held where wakeUpScheduled[name] != until {
            wakeUpScheduled[name] = until
            let noticed = reasons.contains(.container(name))
            logger.log(
                level: noticed ? .info : .debug, "Self-heal backing off",
                metadata: ["container.name": "\(name)", "selfheal.wait": "\(until - now)"])
            Task { [weak self] in
                try await Task.sleep(until: until)
                self?.request(.container(name))
            }
        }
        return held
    }

    /// Nothing to do yet when every reason is a container still held or degraded.
    private func onlyWaitingContainers(
        _ reasons: Set<ReconcileReason>,
        held: [String: ContinuousClock.Instant]
    ) -> Bool {
        reasons.allSatisfy { reason in
            guard case .container(let name) = reason else { return false }
            return held[name] != nil || budget.degraded.contains(name)
        }
    }

    /// The commit to apply: the tip, unless it failed before; then the last good rollout.
    private func commitToApply(_ latest: SpecSnapshot, tip: String) -> (spec: SpecText, commit: String)? {
        if tip == status.badCommit { return Self.lastGood(in: configuration.stateDirectory) }
        return (SpecText(latest.specText, file: latest.location(of: SpecText.fileName)), tip)
    }

    /// The applier for one rollout: it leaves self-heal's held and spent containers alone.
    /// SIGTERM stops the rollout after its current step; a newer fetched tip than `tip` ends its
    /// health waits (and it), and the newer commit's rollout follows.
    private func configuredApplier(leavingAlone names: Set<String>, supersededAfter tip: String) -> Applier {
        var applier = applier
        applier.options.leaveAlone = names
        applier.options.interruption = { [newestCommit, stopping] in
            if stopping.current { return .shutdown }
            return newestCommit.current != tip ? .superseded : nil
        }
        return applier
    }

    /// Runs the rollout; nil when it could not start. Another rollout holding the host is
    /// retried every second, until it is done.
    private func apply(
        _ spec: SpecText, commit: String, with applier: Applier,
        reasons: Set<ReconcileReason>
    ) async -> ApplyResult? {
        let trigger = Trigger(rawValue: "agent-" + (reasons.map(\.description).sorted().first ?? "resync"))
        do {
            let result = try await applier.apply(spec, commit: commit, trigger: trigger, logger: logger)
            waitingForLock = false
            return result
        } catch let error as ApplyError where error.code == .locked {
            // `mailroom apply` or `rollback` holds the host; try again once it is done.
            // Said once per wait: `mailroom apply` may hold the lock for minutes at its prompt.
            logger.log(
                level: waitingForLock ? .debug : .info, "Host busy with another rollout; retrying every second",
                metadata: ["agent.reasons": "\(reasons.map(\.description).sorted())"])
            waitingForLock = true
            Task { [weak self] in
                try await Task.sleep(for: .seconds(1))
                for reason in reasons { self?.request(reason) }
            }
            return nil
        } catch {
            note("reconcile could not start: \(error)")
            return nil
        }
    }

    /// Every put-back of a missing or stopped container on the commit already applied counts,
    /// whatever noticed it first (podman's file-based events can lag behind) and however the
    /// rollout ended (a crash loop fails its checks). Recreations for changed inputs do not.
    private func spendBudgetOnPutBacks(_ result: ApplyResult) {
        let steps = result.steps + (result.autoRollback?.steps ?? [])
        let putBack = Set(steps.filter { Self.putBackActions.contains($0.action) && $0.result == .ok }.map(\.target))
        for name in putBack { _ = budget.spend(name) }
    }

    /// A container the plan needed to put back while its budget was spent is degraded.
    private func markDegraded(leftAlone result: ApplyResult, spent: Set<String>) {
        for name in result.plan?.leftAlone ?? [] where spent.contains(name) { budget.markDegraded(name) }
        status.degraded = budget.degraded.sorted()
    }

    private func record(_ result: ApplyResult, target: String, tip: String, snapshot: SpecSnapshot?, seconds: Double) {
        var changed: [String] = []
        if let plan = result.plan {
            changed = plan.containers.filter { [.create, .recreate, .start].contains($0.action) }.map(\.name)
        }
        switch result.status {
        case .noChanges, .declined:
            status.drift = []
            return
        case .dryRun:
            metrics.rollouts["dry-run", default: 0] += 1
            if let plan = result.plan { journalDryRun(plan, commit: target) }
        case .succeeded:
            metrics.rollouts["succeeded", default: 0] += 1
            metrics.observeDuration(seconds: seconds)
            metrics.lastSuccessfulApply = Date()
            if status.appliedCommit == target {
                // Same commit as applied: something drifted and was put back.
                metrics.driftCorrections += 1
                status.drift = changed
            } else {
                status.drift = []
            }
            status.appliedCommit = target
            if target == tip, let snapshot {
                // A newer commit is live: the failed one is no longer what the host waits past.
                status.badCommit = nil
                try? source.markApplied(snapshot)
            }
        case .interrupted:
            // Not a bad commit: the next reconcile (a newer commit, or the next start) re-plans.
            metrics.rollouts["interrupted", default: 0] += 1
            logger.notice(
                "Rollout stopped after its current step",
                metadata: ["spec.commit": "\(target)", "rollout.error": "\(result.error ?? "")"])
        case .failed, .refused:
            metrics.rollouts[result.status.rawValue, default: 0] += 1
            if result.status == .failed { metrics.observeDuration(seconds: seconds) }
            // Only a new commit's own rollout makes it bad; a failed put-back of the applied
            // commit (a container removed while being restarted) is retried at the next trigger.
            if target == tip && status.appliedCommit != tip { status.badCommit = tip }
            note("rollout \(result.status.rawValue) for \(target.prefix(12)): \(result.error ?? "")")
            if let back = result.autoRollback {
                metrics.rollouts["auto-rollback-" + (back.status?.rawValue ?? "error"), default: 0] += 1
            }
        }
        status.lastRollout = AgentStatus.Rollout(
            rollout: result.rollout, commit: target, trigger: result.trigger.rawValue, status: result.status.rawValue,
            error: result.error,
            durationMs: result.durationMs, finished: Date(), rolledBackTo: result.autoRollback?.to)
        logger.info(
            "Reconciled",
            metadata: [
                "rollout.id": "\(result.rollout ?? "-")", "rollout.status": "\(result.status.rawValue)",
                "spec.commit": "\(target)",
                "rollout.changed": "\(changed.joined(separator: ","))",
            ])
    }

    /// Dry run: the plan the agent would apply, one JSON line in `<state-dir>/dry-run.jsonl`.
    private func journalDryRun(_ plan: Plan, commit: String) {
        struct Line: Encodable {
            var time: Date
            var commit: String
            var summary: Plan.Summary
            var changes: [String]
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .internetTime
        encoder.outputFormatting = [.sortedKeys]
        guard
            var data = try? encoder.encode(
                Line(time: Date(), commit: commit, summary: plan.summary, changes: PlanFormatter.changeLines(plan)))
        else { return }
        data.append(UInt8(ascii: "\n"))
        let path = StateDirectory(configuration.stateDirectory).dryRunJournal
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: data)
    }

    /// Tells the file watcher what to watch when the spec (and so its files) changed.
    private func updateDesired(spec: SpecText, commit: String) {
        guard desiredCommit != commit, let onDesiredChange else { return }
        desiredCommit = commit
        if let compiled = try? Pipeline(host: configuration.host, engine: nil, profile: applier.profile).compile(spec) {
            onDesiredChange(compiled.desired)
        }
    }

    private func note(_ message: String) {
        logger.error("Agent problem", metadata: ["agent.error": "\(message)"])
        status.lastErrors.append(AgentStatus.Problem(at: Date(), message: message))
        if status.lastErrors.count > 20 { status.lastErrors.removeFirst(status.lastErrors.count - 20) }
    }

}
