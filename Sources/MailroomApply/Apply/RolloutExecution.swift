import Foundation
import Logging
import MailroomHost
import MailroomPlan
import MailroomRender
import MailroomSpec
import MailroomSupport

/// Carries out one plan, in order: network → directories → files → units (+ daemon-reload)
/// → removals → containers wave by wave, each wave gated on its dependencies being healthy
/// → unit deletions → reloads. The first failure stops it; in-flight steps of the wave finish.
/// An interruption (``ApplyOptions/interruption``) stops it the same way, before the next step,
/// and ends any health wait. With `dryRun` every step is recorded as `planned` and nothing is run.
struct RolloutExecution: Sendable {
    var plan: Plan
    var desired: DesiredState
    var actual: ActualState
    var engine: any ContainerEngine
    var serviceManager: (any ServiceManager)?
    var options: ApplyOptions
    var log: RolloutLog
    var recorder: AppliedRecorder
    var commit: String
    var logger: Logger
    /// The previous rollout stopped early (crash, SIGTERM, newer commit): check every container
    /// this one does not start, and reload every file's reader, as that rollout may not have.
    var completing = false

    var dryRun: Bool { options.dryRun }
    var systemd: Bool { plan.runner == .systemd && serviceManager != nil }
    /// Why to stop before the next step, if the agent asked to (or the task was cancelled).
    var interruption: RolloutInterruption? { options.currentInterruption() }

    /// Runs every step; returns the reason of the first failure, if any.
    func run() async -> String? {
        await network()
        guard await log.ok else { return await log.failure }
        await directoriesAndFiles()
        guard await log.ok else { return await log.failure }
        await removals()
        guard await log.ok else { return await log.failure }
        var started = Set<String>()
        await containers(started: &started)
        guard await log.ok else { return await log.failure }
        await unitDeletions()
        guard await log.ok else { return await log.failure }
        await reloads(skipping: started)
        return await log.failure
    }

    // MARK: - Network, directories, files

    func network() async {
        guard plan.network.action == .create else { return }
        await podmanStep(.networkCreate, plan.network.name, plan.network.arguments) { _ in "created" }
    }

    func directoriesAndFiles() async {
        for directory in plan.directories {
            await step(.directoryCreate, directory, command: nil) {
                try AtomicFile.makeDirectory(directory)
                return "mode 755"
            }
        }
        guard await log.ok else { return }
        let contents = Dictionary((desired.files + (plan.runner == .systemd ? Planner.units(desired, actual: actual) : [])).map { ($0.path, $0) },
                                  uniquingKeysWith: { first, _ in first })
        var unitsChanged = false
        for change in plan.files where change.action == .create || change.action == .update {
            guard let file = contents[change.path] else { continue }
            let written = await step(change.kind == .unit ? StepAction.unitWrite : .fileWrite, change.path, command: nil) {
                try AtomicFile.write(file.content, to: file.path, mode: file.mode)
                return "mode \(String(file.mode, radix: 8))"
            }
            guard written else { break }
            if change.kind == .unit { unitsChanged = true }
        }
        guard await log.failure == nil else { return }
        if await log.ok {
            for change in plan.files where change.action == .delete && change.kind == .file {
                guard await step(.fileDelete, change.path, command: nil, { try AtomicFile.remove(change.path); return "removed" }) else { break }
            }
            guard await log.failure == nil else { return }
        }
        // Also when interrupted: what was written is recorded, and systemd reads the units.
        // Units that leave go after their containers are stopped, in `unitDeletions`.
        let pendingUnits = plan.files.filter { $0.action == .delete && $0.kind == .unit }.map(\.path)
        await record { try await recorder.files(contents.keys.sorted().filter { path in
            plan.files.contains { $0.path == path && $0.action != .delete } } + pendingUnits) }
        if systemd && unitsChanged { await serviceStep(.daemonReload, target: "systemd", evenIfInterrupted: true) }
    }

    // MARK: - Containers

    func removals() async {
        for change in plan.containers where change.action == .remove {
            if systemd {
                await serviceStep(.disableNow(SystemdUnit.fileName(for: change.name)), target: change.name)
                guard await log.ok else { return }
            }
            let arguments = ["container", "rm", "--force", "--ignore", "--time", "10", change.name]
            await podmanStep(.containerRemove, change.name, arguments) { _ in
                try await recorder.container(change.name, nil)
                return "removed (volumes and data kept)"
            }
            guard await log.ok else { return }
        }
    }

    func containers(started: inout Set<String>) async {
        let changes = plan.containers.filter { $0.action != .remove && $0.action != .inSync }
        let levels = Set(changes.compactMap(\.level)).sorted()
        let newUnits = Set(plan.files.filter { $0.kind == .unit && $0.action == .create }.map(\.path.lastComponent))
        for level in levels {
            let wave = changes.filter { $0.level == level }
            // Dependencies not started in this rollout must be running and healthy before the wave goes.
            let gates = Set(wave.flatMap { desired.container(named: $0.name)?.dependsOn ?? [] }).subtracting(started).sorted()
            await forEachConcurrently(gates, limit: options.concurrency) { name in await gate(name) }
            guard await log.ok else { return }

            await forEachConcurrently(wave, limit: options.concurrency) { change in
                await start(change, enable: newUnits.contains(SystemdUnit.fileName(for: change.name)))
            }
            let launched = wave.filter { $0.action != .adopt }
            started.formUnion(launched.map(\.name))
            guard await log.ok else { return }
            await verify(launched)
            guard await log.ok else { return }
        }
        if completing {
            // Checked like a started container: running, and healthy if it has a health check.
            let untouched = plan.containers.filter { $0.action == .inSync && actual.containers[$0.name] != nil && !started.contains($0.name) }
            await verify(untouched.map { change in
                var check = change
                check.action = .start
                return check
            })
        }
    }

    /// Creates, recreates, starts or adopts one container.
    func start(_ change: ContainerChange, enable: Bool) async {
        guard let c = desired.container(named: change.name), let hash = change.configHash else { return }
        let arguments = change.arguments ?? c.arguments
        let observedID = actual.containers[change.name]?.summary.id
        switch change.action {
        case .adopt:
            await step(.containerAdopt, change.name, command: nil) {
                try await recorder.container(change.name, .init(arguments: arguments, configHash: hash, containerID: observedID))
                return "recorded as managed without a restart"
            }
        case .start where !systemd:
            await podmanStep(.containerStart, change.name, ["container", "start", change.name]) { _ in
                try await recorder.container(change.name, .init(arguments: arguments, configHash: hash, containerID: observedID))
                return "started"
            }
        case .start:
            await serviceStep(.start(SystemdUnit.fileName(for: change.name)), target: change.name)
        case .create, .recreate:
            let action: StepAction = change.action == .create ? .containerCreate : .containerRecreate
            if systemd {
                let unit = SystemdUnit.fileName(for: change.name)
                // Guarded on this step's own outcome: another step's interruption must not skip
                // recording a restart that happened.
                if enable { guard await serviceStep(.enable(unit), target: change.name) else { return } }
                guard await serviceStep(.restart(unit), target: change.name, action: action) else { return }
                await record { try await recorder.container(change.name, .init(arguments: arguments, configHash: hash, containerID: nil)) }
                await record { try await recorder.raiseVersion(desired.applicationVersion) }
                return
            }
            let labels = [KeyValue(PodmanArguments.managedLabel, "true"), KeyValue(PodmanArguments.hashLabel, hash),
                          KeyValue(PodmanArguments.commitLabel, commit)]
            let run = PodmanArguments.run(c.definition, extraLabels: labels)
            await podmanStep(action, change.name, run) { result in
                // `--replace` prints the old container's name first; the new id is the last line.
                let id = result.stdoutText.split(separator: "\n").last.map { String($0).trimmingCharacters(in: .whitespaces) }
                try await recorder.container(change.name, .init(arguments: arguments, configHash: hash, containerID: id))
                try await recorder.raiseVersion(desired.applicationVersion)
                return "running \(id.map { String($0.prefix(12)) } ?? "")"
            }
        case .remove, .inSync:
            return
        }
    }

    /// After a wave started: one batched inspect, then each container must be running (and not
    /// restarted by its restart policy) and, with a health check, healthy within the timeout.
    func verify(_ changes: [ContainerChange]) async {
        guard !changes.isEmpty else { return }
        let names = changes.map(\.name)
        if dryRun {
            for name in names { await log.add(StepRecord(action: .containerWait, target: name, command: nil, started: Date(), ended: Date(), result: .planned, detail: "wait until running and healthy")) }
            return
        }
        let began = Date()
        let inspections: [String: ContainerInspection]
        do {
            inspections = Dictionary(try await engine.inspectContainers(names).map { (Self.bare($0.name), $0) }, uniquingKeysWith: { first, _ in first })
        } catch {
            await log.add(StepRecord(action: .containerWait, target: names.joined(separator: ","), command: ["podman", "container", "inspect"] + names,
                                     started: began, ended: Date(), result: .failed, detail: "\(error)", stderr: (error as? CommandError)?.stderr))
            return
        }
        await forEachConcurrently(changes, limit: options.concurrency) { change in
            let name = change.name
            guard let inspection = inspections[name] else {
                await log.add(StepRecord(action: .containerWait, target: name, command: nil, started: began, ended: Date(), result: .failed,
                                         detail: "the container is gone right after it was started"))
                return
            }
            if systemd { await record { try await recorder.containerID(name, inspection.id) } }
            // A fresh container that podman already restarted is crash-looping.
            let looping = inspection.restartCount > 0 && change.action != .start
            guard inspection.state.running, !looping else {
                let why = inspection.state.running
                    ? "exited right after it started and its restart policy restarted it \(inspection.restartCount) time\(inspection.restartCount == 1 ? "" : "s") (a crash loop)"
                    : "exited with status \(inspection.state.exitCode) right after it started"
                await log.add(StepRecord(action: .containerWait, target: name, command: nil, started: began, ended: Date(), result: .failed,
                                         detail: why + (await logTail(name))))
                return
            }
            let spec = desired.container(named: name)?.hasHealthcheck ?? false
            let image = !inspection.config.healthcheck.isEmpty && inspection.config.healthcheck.first != "NONE"
            if spec || image {
                await waitHealthy(name, since: began)
            } else {
                await log.add(StepRecord(action: .containerWait, target: name, command: nil, started: began, ended: Date(), result: .ok, detail: "running"))
            }
        }
    }

    /// A dependency this rollout did not start: it must be running, and healthy if it has a health check.
    func gate(_ name: String) async {
        let began = Date()
        guard let observed = actual.containers[name] else { return }
        if dryRun { return }
        guard observed.isRunning else {
            await log.add(StepRecord(action: .containerWait, target: name, command: nil, started: began, ended: Date(), result: .failed,
                                     detail: "a dependency of this wave is \(observed.summary.state), not running"))
            return
        }
        if desired.container(named: name)?.hasHealthcheck == true || observed.summary.health != nil {
            await waitHealthy(name, since: began)
        }
    }

    /// `podman healthcheck run` until it passes (0) or the timeout: 1 is "not yet", anything else fails now.
    func waitHealthy(_ name: String, since began: Date) async {
        let clock = ContinuousClock()
        let deadline = clock.now + options.healthTimeout
        var delay: Duration = .milliseconds(100)
        var checks = 0
        let command = ["healthcheck", "run", name]
        while true {
            checks += 1
            do {
                try await engine.execute(command)
                await log.add(StepRecord(action: .containerWait, target: name, command: ["podman"] + command, started: began, ended: Date(),
                                         result: .ok, detail: "healthy after \(checks) check\(checks == 1 ? "" : "s")"))
                return
            } catch let error as CommandError where error.status == 1 {
                if let why = interruption {
                    await log.add(StepRecord(action: .containerWait, target: name, command: ["podman"] + command, started: began, ended: Date(),
                                             result: .cancelled, detail: "wait ended after \(checks) check\(checks == 1 ? "" : "s"): \(why.explanation)"))
                    await log.interrupt(why)
                    return
                }
                if clock.now + delay > deadline {
                    let seconds = Double(options.healthTimeout.components.seconds) + Double(options.healthTimeout.components.attoseconds) / 1e18
                    await log.add(StepRecord(action: .containerWait, target: name, command: ["podman"] + command, started: began, ended: Date(),
                                             result: .failed, detail: "still unhealthy after \(checks) checks in \(formatSeconds(seconds))" + (await logTail(name)),
                                             stderr: error.stderr.isEmpty ? nil : error.stderr))
                    return
                }
            } catch {
                await log.add(StepRecord(action: .containerWait, target: name, command: ["podman"] + command, started: began, ended: Date(),
                                         result: .failed, detail: "health check could not run: \(error)" + (await logTail(name)),
                                         stderr: (error as? CommandError)?.stderr))
                return
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
    }

    /// The container's last log lines, to say why it failed (read-only).
    func logTail(_ name: String) async -> String {
        guard let result = try? await engine.execute(["container", "logs", "--tail", "5", name]) else { return "" }
        let text = (result.stdoutText + String(decoding: result.stderr, as: UTF8.self)).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "" : "; last log lines: " + text.split(separator: "\n").suffix(5).joined(separator: " | ")
    }

    // MARK: - Units and reloads

    func unitDeletions() async {
        let deletions = plan.files.filter { $0.action == .delete && $0.kind == .unit }
        guard !deletions.isEmpty else { return }
        for change in deletions {
            await step(.unitDelete, change.path, command: nil) {
                try AtomicFile.remove(change.path)
                return "removed"
            }
            guard await log.ok else { return }
        }
        await record { try await recorder.files(plan.files.filter { $0.action != .delete }.map(\.path)) }
        if systemd { await serviceStep(.daemonReload, target: "systemd") }
    }

    /// Containers that read changed files without a restart (Caddy) reload them, unless this
    /// rollout started them anyway. A failed reload restarts the container.
    func reloads(skipping started: Set<String>) async {
        var seen = Set<[String]>()
        var reloads: [FileDefinition.Reload] = []
        for change in plan.files where change.action != .inSync || completing {
            // A deleted file has no reload of its own: use a sibling's (same directory, same reader).
            let reload = change.reload ?? (change.action == .delete ? desired.files.first {
                ($0.path as NSString).deletingLastPathComponent == (change.path as NSString).deletingLastPathComponent && $0.reload != nil
            }?.reload : nil)
            guard let reload, !started.contains(reload.container), seen.insert([reload.container] + reload.command).inserted else { continue }
            reloads.append(reload)
        }
        for reload in reloads {
            guard actual.containers[reload.container]?.isRunning == true else { continue }
            if !dryRun, let why = interruption {
                await log.interrupt(why)
                return
            }
            let command = ["container", "exec", reload.container] + reload.command
            if dryRun {
                await log.add(StepRecord(action: .containerReload, target: reload.container, command: ["podman"] + command, started: Date(),
                                         ended: Date(), result: .planned))
                continue
            }
            let began = Date()
            do {
                try await engine.execute(command)
                await log.add(StepRecord(action: .containerReload, target: reload.container, command: ["podman"] + command, started: began,
                                         ended: Date(), result: .ok, detail: "reloaded"))
            } catch {
                // Not a failure yet: a restart reads the files too.
                await log.add(StepRecord(action: .containerReload, target: reload.container, command: ["podman"] + command, started: began,
                                         ended: Date(), result: .failed, detail: "reload failed; restarting the container instead",
                                         stderr: (error as? CommandError)?.stderr), failsRollout: false)
                if systemd {
                    await serviceStep(.restart(SystemdUnit.fileName(for: reload.container)), target: reload.container, action: .containerRestart)
                } else {
                    await podmanStep(.containerRestart, reload.container, ["container", "restart", "--time", "10", reload.container]) { _ in "restarted" }
                }
                guard await log.ok else { return }
                if let change = plan.containers.first(where: { $0.name == reload.container }) {
                    var restarted = change
                    restarted.action = .start
                    await verify([restarted])
                }
                guard await log.ok else { return }
            }
        }
    }

    // MARK: - Steps

    /// Runs `body` as one recorded step; a thrown error fails the step and the rollout. Not
    /// started once the rollout is interrupted, unless it completes work already done
    /// (`evenIfInterrupted`). Returns whether it ran and succeeded (or, in a dry run, was planned).
    @discardableResult
    func step(_ action: StepAction, _ target: String, command: [String]?, evenIfInterrupted: Bool = false,
              _ body: @Sendable () async throws -> String?) async -> Bool {
        let began = Date()
        if dryRun {
            await log.add(StepRecord(action: action, target: target, command: command, started: began, ended: began, result: .planned))
            return true
        }
        if !evenIfInterrupted, let why = interruption {
            await log.interrupt(why)
            return false
        }
        do {
            let detail = try await body()
            await log.add(StepRecord(action: action, target: target, command: command, started: began, ended: Date(), result: .ok, detail: detail))
            return true
        } catch {
            logger.warning("rollout step failed", metadata: ["step.action": "\(action.rawValue)", "step.target": "\(target)", "error": "\(error)"])
            await log.add(StepRecord(action: action, target: target, command: command, started: began, ended: Date(), result: .failed,
                                     detail: (error as? CommandError).map { "exit status \($0.status.map(String.init) ?? "?")" } ?? "\(error)",
                                     stderr: (error as? CommandError)?.stderr))
            return false
        }
    }

    /// One podman command as a step; `then` runs after it succeeds (recording, detail).
    @discardableResult
    func podmanStep(_ action: StepAction, _ target: String, _ arguments: [String],
                    then: @escaping @Sendable (ProcessResult) async throws -> String?) async -> Bool {
        await step(action, target, command: ["podman"] + arguments) {
            let result = try await engine.execute(arguments)
            return try await then(result)
        }
    }

    @discardableResult
    func serviceStep(_ service: ServiceAction, target: String, action: StepAction? = nil, evenIfInterrupted: Bool = false) async -> Bool {
        guard let serviceManager else { return true }
        let name = action ?? .systemd(service)
        return await step(name, target, command: ["systemctl"] + service.arguments, evenIfInterrupted: evenIfInterrupted) {
            try await serviceManager.perform(service)
            return nil
        }
    }

    /// Bookkeeping (applied.json) that is not a step of its own but can fail like one.
    func record(_ body: @Sendable () async throws -> Void) async {
        guard !dryRun else { return }
        do { try await body() } catch {
            await log.add(StepRecord(action: .stateWrite, target: AppliedState.path(in: recorder.stateDirectory), command: nil, started: Date(),
                                     ended: Date(), result: .failed, detail: "\(error)"))
        }
    }

    static func bare(_ name: String) -> String { name.hasPrefix("/") ? String(name.dropFirst()) : name }
}

/// The steps of one rollout as they happen: kept for the result and appended to the journal.
actor RolloutLog {
    let rollout: String?
    let journal: Journal?
    private(set) var steps: [StepRecord] = []
    private(set) var failure: String?
    /// Set when the rollout stopped early on purpose; the first reason wins.
    private(set) var interruption: RolloutInterruption?
    /// Journal writes that failed (the rollout goes on; the result says so).
    private(set) var journalErrors: [String] = []

    init(rollout: String?, journal: Journal?) {
        self.rollout = rollout
        self.journal = journal
    }

    /// Whether to go on: no failure and no interruption.
    var ok: Bool { failure == nil && interruption == nil }

    func interrupt(_ why: RolloutInterruption) {
        if interruption == nil { interruption = why }
    }

    func add(_ step: StepRecord, failsRollout: Bool = true) {
        steps.append(step)
        if step.result == .failed, failsRollout, failure == nil {
            failure = "\(step.action.rawValue) \(step.target): \(step.detail ?? "failed")" + (step.stderr.map { $0.isEmpty ? "" : " (\($0))" } ?? "")
        }
        guard let journal, let rollout else { return }
        var record = JournalRecord(type: .step, rollout: rollout, time: step.ended)
        record.step = step
        do { try journal.append(record) } catch { journalErrors.append("\(error)") }
    }
}

/// `applied.json`, rewritten atomically after every change, so a crash leaves an accurate record.
actor AppliedRecorder {
    let stateDirectory: String
    let persist: Bool
    private(set) var state: AppliedState

    init(state: AppliedState, stateDirectory: String, persist: Bool) {
        self.state = state
        self.stateDirectory = stateDirectory
        self.persist = persist
    }

    func container(_ name: String, _ record: AppliedState.AppliedContainer?) throws {
        state.containers[name] = record
        try save()
    }

    func containerID(_ name: String, _ id: String) throws {
        guard state.containers[name] != nil, state.containers[name]?.containerID != id else { return }
        state.containers[name]?.containerID = id
        try save()
    }

    func files(_ paths: [String]) throws {
        let sorted = Array(Set(paths)).sorted()
        guard sorted != state.files else { return }
        state.files = sorted
        try save()
    }

    /// Mailu's migrations run when a newer version starts: the record keeps the highest version started.
    func raiseVersion(_ version: String?) throws {
        guard let version, state.applicationVersion != version else { return }
        if let current = state.applicationVersion, ApplicationVersion.compare(version, current) != .newer { return }
        state.applicationVersion = version
        try save()
    }

    func finish(commit: String, rollout: String) throws {
        state.commit = commit
        state.rolloutID = rollout
        try save()
    }

    private func save() throws {
        guard persist else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(state), to: AppliedState.path(in: stateDirectory), mode: 0o600)
    }
}

/// Runs `body` for every item, at most `limit` at a time.
func forEachConcurrently<T: Sendable>(_ items: [T], limit: Int, _ body: @escaping @Sendable (T) async -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        var iterator = items.makeIterator()
        for _ in 0..<max(1, limit) {
            guard let item = iterator.next() else { break }
            group.addTask { await body(item) }
        }
        while await group.next() != nil {
            if let item = iterator.next() { group.addTask { await body(item) } }
        }
    }
}

func formatSeconds(_ seconds: Double) -> String {
    seconds < 10 ? String(format: "%.1f s", seconds) : "\(Int(seconds.rounded())) s"
}
