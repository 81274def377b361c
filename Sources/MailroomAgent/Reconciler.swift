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
    /// podman events not yet told apart as a rollout's own or an outside change.
    private let containerEvents = LockedValue<[PodmanEvents.Event]>([])
    /// What rollouts write into each generated file: this spec's content and earlier ones'.
    private let ownContents = LockedValue<[String: Set<String>]>([:])
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// The newest fetched commit, readable while a rollout runs (a newer one supersedes it).
    private let newestCommit = LockedValue<String?>(nil)
    /// Set on graceful shutdown (SIGTERM): the running rollout stops after its current step.
    private let stopping = LockedValue(false)
    /// Containers held by their self-heal backoff, and the wake-up scheduled for each: they are
    /// left alone until then, so the wait never holds up other reconciles.
    private var wakeUpScheduled: [String: ContinuousClock.Instant] = [:]
    /// Containers (ids) whose outside change was reported: their later events are the same change.
    private var reportedContainers: [String] = []
    /// Another process holds the apply lock; retried every second, logged once.
    private var waitingForLock = false

    private var latest: SpecSnapshot?
    private var budget: SelfHealBudget
    private var firstReconcileDone = false
    private var onFirstReconcile: (@Sendable () -> Void)?
    private var onDesiredChange: (@Sendable (DesiredState) -> Void)?
    private var desiredCommit: String?
    /// The last commit whose writes ``expectWrites(of:commit:)`` recorded, with its desired state.
    private var expected: (commit: String, desired: DesiredState, contents: [String: String])?
    private var onRolloutStart: (@Sendable (_ commit: String, _ reasons: Set<ReconcileReason>) -> Void)?
    /// What this agent decided and saw; ``status`` adds what the journal knows besides.
    private var current = AgentStatus()
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
        current.dryRun = configuration.dryRun
        // A restarted agent continues where it stopped: what it decided is in the journal.
        let history = RolloutHistory.load(stateDirectory: configuration.stateDirectory)
        current.appliedCommit = history.lastSucceeded()?.commit
        current.badCommit = history.badCommit()
        current.lastRollout = history.rollouts.last { $0.status != nil }.map(AgentStatus.Rollout.init)
    }

    /// What `/status` reports: the agent's own view, with the last rollout taken from the
    /// journal when a newer one ended there (`mailroom rollback` or `apply` while the agent ran).
    public var status: AgentStatus {
        var status = current
        guard !configuration.dryRun,
            let newest = RolloutHistory.loadRecent(stateDirectory: configuration.stateDirectory).rollouts.last(where: {
                $0.status != nil
            }),
            let ended = newest.ended, ended > (current.lastRollout?.finished ?? .distantPast),
            newest.id != current.lastRollout?.rollout
        else { return status }
        status.lastRollout = AgentStatus.Rollout(newest)
        return status
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

    /// Takes a podman event about a managed container (from the events reader thread).
    public nonisolated func containerChanged(_ event: PodmanEvents.Event) {
        containerEvents.withLock { $0.append(event) }
        request(.container(event.name))
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
            current.currentCommit = result.commit.description
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
                reasons = withoutOwnContainerChanges(reasons)
                guard !reasons.isEmpty else { continue }
                await reconcile(reasons)
            }
        } onGracefulShutdown: { [stopping] in
            stopping.withLock { $0 = true }
        }
    }

    /// Drops the container reasons that only a rollout's own steps caused (this agent's, or
    /// `mailroom rollback`'s), and logs the others as outside changes. Runs between rollouts,
    /// when the journal holds every step of the ones that ended; while another process holds
    /// the apply lock its steps are still being written, so its events wait until it is done.
    /// A container reason without an event is a self-heal wake-up, and stays.
    private func withoutOwnContainerChanges(_ reasons: Set<ReconcileReason>) -> Set<ReconcileReason> {
        guard reasons.contains(where: \.isContainer), !containerEvents.current.isEmpty else { return reasons }
        let containers = reasons.filter(\.isContainer)
        if ApplyLock.isHeld(stateDirectory: configuration.stateDirectory) {
            Task { [weak self] in
                try await Task.sleep(for: .seconds(1))
                for reason in containers { self?.request(reason) }
            }
            return reasons.subtracting(containers)
        }
        let events = containerEvents.withLock { events in
            defer { events = [] }
            return events
        }
        let history = RolloutHistory.loadRecent(stateDirectory: configuration.stateDirectory)
        var own = Set<String>()
        var outside: [String: Set<String>] = [:]
        for event in events {
            if OwnChanges.rolloutExplains(event, history: history) {
                own.insert(event.name)
            } else if let id = event.id, reportedContainers.contains(id) {
                // The second event of one change (a `remove` after its `died`): already handled.
                own.insert(event.name)
            } else {
                outside[event.name, default: []].insert(event.status)
                if let id = event.id { reportedContainers.append(id) }
            }
        }
        if reportedContainers.count > 64 { reportedContainers.removeFirst(reportedContainers.count - 64) }
        // One line a container: `podman rm -f` of a running one is a `died` and a `remove`.
        for (name, statuses) in outside.sorted(by: { $0.key < $1.key }) {
            logger.info(
                statuses.contains("remove") ? "Managed container removed by hand" : "Managed container exited",
                metadata: [
                    "container.name": "\(name)", "container.event": "\(statuses.sorted().joined(separator: ","))",
                ])
        }
        let onlyOwn = own.subtracting(outside.keys)
        if !onlyOwn.isEmpty {
            logger.debug("Own container changes seen", metadata: ["container.names": "\(onlyOwn.sorted())"])
        }
        return reasons.filter { reason in
            guard case .container(let name) = reason else { return true }
            return !onlyOwn.contains(name)
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
        current.reconciling = true
        defer {
            current.reconciling = false
            current.lastReconcile = Date()
        }
        let began = ContinuousClock.now
        let appliedBefore = current.appliedCommit
        let desired = expectWrites(of: spec, commit: target)
        onRolloutStart?(target, reasons)
        guard let result = await apply(spec, commit: target, with: applier, reasons: reasons) else { return }
        record(
            result, target: target, tip: tip, snapshot: target == tip ? latest : nil,
            seconds: (ContinuousClock.now - began).seconds)
        if target == appliedBefore { spendBudgetOnPutBacks(result) }
        markDegraded(leftAlone: result, spent: spent)
        // After the rollout, so that the directories it made exist to be watched.
        updateDesired(desired, commit: target)
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
        current.sync = control.summary
        current.suspended = control.suspended || control.pinnedCommit != nil
        current.pinnedCommit = control.pinnedCommit
        // `mailroom rollback` made the host match the pinned commit, outside this process.
        if let pinned = control.pinnedCommit { current.appliedCommit = pinned }
        if current.suspended {
            logger.debug(
                "Sync suspended; not reconciling",
                metadata: ["agent.reasons": "\(reasons.map(\.description).sorted())"])
        }
        return current.suspended
    }

    /// A new commit gives degraded containers a fresh budget. File events do not: the agent's
    /// own writes of generated files would end every degraded state at once. Containers reported
    /// by podman events are only checked here; a restart is counted against the budget when the
    /// plan really puts one back (the agent's own recreations are events too).
    private func refreshBudget(_ reasons: Set<ReconcileReason>, tip: String) {
        if reasons.contains(.git) && tip != current.badCommit {
            budget.reset()
            wakeUpScheduled = [:]
        }
        for case .container(let name) in reasons where !budget.allows(name) {
            logger.warning(
                "Self-heal budget spent; container left alone until the next commit",
                metadata: ["container.name": "\(name)"])
        }
        current.degraded = budget.degraded.sorted()
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
        if tip == current.badCommit { return Self.lastGood(in: configuration.stateDirectory) }
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
        current.degraded = budget.degraded.sorted()
    }

    private func record(_ result: ApplyResult, target: String, tip: String, snapshot: SpecSnapshot?, seconds: Double) {
        var changed: [String] = []
        if let plan = result.plan {
            changed = plan.containers.filter { [.create, .recreate, .start].contains($0.action) }.map(\.name)
        }
        switch result.status {
        case .noChanges where result.rollout != nil:
            // A new commit that changes nothing (a revert, a README edit) is applied all the same.
            metrics.rollouts["no-changes", default: 0] += 1
            markApplied(target, tip: tip, snapshot: snapshot)
            current.drift = []
        case .noChanges, .declined:
            // Nothing changed: the last drift correction stays reported until a new commit.
            return
        case .dryRun:
            metrics.rollouts["dry-run", default: 0] += 1
            if let plan = result.plan { journalDryRun(plan, commit: target) }
        case .succeeded:
            metrics.rollouts["succeeded", default: 0] += 1
            metrics.observeDuration(seconds: seconds)
            metrics.lastSuccessfulApply = Date()
            if current.appliedCommit == target {
                // Same commit as applied: something drifted and was put back.
                metrics.driftCorrections += 1
                current.drift = changed
            } else {
                current.drift = []
            }
            markApplied(target, tip: tip, snapshot: snapshot)
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
            if target == tip && current.appliedCommit != tip { current.badCommit = tip }
            note("rollout \(result.status.rawValue) for \(target.prefix(12)): \(result.error ?? "")")
            if let back = result.autoRollback {
                metrics.rollouts["auto-rollback-" + (back.status?.rawValue ?? "error"), default: 0] += 1
            }
        }
        current.lastRollout = AgentStatus.Rollout(
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

    private func markApplied(_ target: String, tip: String, snapshot: SpecSnapshot?) {
        current.appliedCommit = target
        if target == tip, let snapshot {
            // A newer commit is live: the failed one is no longer what the host waits past.
            current.badCommit = nil
            try? source.markApplied(snapshot)
        }
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
    private func updateDesired(_ desired: DesiredState?, commit: String) {
        guard desiredCommit != commit, let onDesiredChange, let desired else { return }
        desiredCommit = commit
        onDesiredChange(desired)
    }

    /// The spec's desired state, and what its rollout will write into the generated files: from
    /// now on, a file event that finds that content (or the previous spec's, which a rollback
    /// writes back) is the agent's own write. Compiled once per commit (a resync or a put-back
    /// of the same commit reuses it); nil for a spec that does not compile.
    private func expectWrites(of spec: SpecText, commit: String) -> DesiredState? {
        if commit == expected?.commit { return expected?.desired }
        guard
            let compiled = try? Pipeline(host: configuration.host, engine: nil, profile: applier.profile).compile(spec)
        else { return nil }
        let contents = OwnChanges.generatedContents(compiled.desired)
        let previous = expected?.contents ?? [:]
        ownContents.withLock { own in
            own = contents.mapValues { [$0] }
            for (path, content) in previous { own[path, default: []].insert(content) }
        }
        expected = (commit, compiled.desired, contents)
        return compiled.desired
    }

    /// Of the paths a file event reported, the ones someone else changed. Callable from any thread.
    public nonisolated func outsideFileChanges(_ paths: [String]) -> [String] {
        OwnChanges.outsideFileChanges(paths, ownContents: ownContents.current)
    }

    private func note(_ message: String) {
        logger.error("Agent problem", metadata: ["agent.error": "\(message)"])
        current.lastErrors.append(AgentStatus.Problem(at: Date(), message: message))
        if current.lastErrors.count > 20 { current.lastErrors.removeFirst(current.lastErrors.count - 20) }
    }

}
