import Foundation
import Logging
import MailroomHost
import MailroomPlan
import MailroomRender
import MailroomSpec
import MailroomSupport

/// Carries out one plan, in order: network → directories → files → units (+ daemon-reload)
/// → keys → removals → containers wave by wave, each wave gated on its dependencies being healthy
/// → the application's objects → unit deletions → reloads. The first failure stops it; in-flight steps of the wave finish.
/// An interruption (``ApplyOptions/interruption``) stops it the same way, before the next step,
/// and ends any health wait. With `dryRun` every step is recorded as `planned` and nothing is run.
/// This type keeps the order; the ``HealthGate`` waits, the ``RolloutLog`` records the steps and
/// the ``AppliedStateRecorder`` keeps `applied.json`.
struct RolloutExecution: Sendable {
    var plan: Plan
    var desired: DesiredState
    var actual: ActualState
    var engine: any ContainerEngine
    var serviceManager: (any ServiceManager)?
    var options: ApplyOptions
    var log: RolloutLog
    var recorder: AppliedStateRecorder
    var commit: String
    var logger: Logger
    /// The previous rollout stopped early (crash, SIGTERM, newer commit): check every container
    /// this one does not start, and reload every file's reader, as that rollout may not have.
    var completing = false

    var dryRun: Bool { options.dryRun }
    var systemd: Bool { plan.runner == .systemd && serviceManager != nil }
    /// Why to stop before the next step, if the agent asked to (or the task was cancelled).
    var interruption: RolloutInterruption? { options.currentInterruption() }
    /// Waits for what this rollout starts and for the dependencies of each wave. With systemd,
    /// the ids it inspects go into the record: the units started those containers.
    var health: HealthGate {
        var gate = HealthGate(desired: desired, actual: actual, engine: engine, options: options, log: log)
        if systemd { gate.inspected = { name, id in await record { try await recorder.containerID(name, id) } } }
        return gate
    }

    /// Runs every step; returns the reason of the first failure, if any.
    func run() async -> String? {
        await network()
        guard await log.ok else { return await log.failure }
        await directoriesAndFiles()
        guard await log.ok else { return await log.failure }
        await keys()
        guard await log.ok else { return await log.failure }
        await removals()
        guard await log.ok else { return await log.failure }
        var started = Set<String>()
        await containers(started: &started)
        guard await log.ok else { return await log.failure }
        await objects(started: started)
        guard await log.ok else { return await log.failure }
        await unitDeletions()
        guard await log.ok else { return await log.failure }
        await reloads(skipping: started)
        return await log.failure
    }

    // MARK: - Network, directories, files

    func network() async {
        guard plan.network.action == .create else { return }
        await podmanStep(.networkCreate, plan.network.name, plan.network.arguments) { _ in
            try FaultInjection.point("network.create")
            return "created"
        }
    }

    func directoriesAndFiles() async {
        for directory in plan.directories {
            await step(.directoryCreate, directory, command: nil) {
                try AtomicFile.makeDirectory(directory)
                return "mode 755"
            }
        }
        guard await log.ok else { return }
        let contents = Dictionary(
            (desired.files + (plan.runner == .systemd ? Planner.units(desired, actual: actual) : [])).map {
                ($0.path, $0)
            },
            uniquingKeysWith: { first, _ in first })
        var unitsChanged = false
        var hostUnits: [String] = []
        let writes = plan.files.filter { $0.action == .create || $0.action == .update }
            .compactMap { change in contents[change.path].map { (change: change, file: $0) } }
        // Every file in one batch (one sync), each rename its own step: after a crash every file
        // is old or new, and the journal says which were renamed. A dry run writes no temporary.
        let items = writes.map { AtomicFile.Item(path: $0.file.path, content: $0.file.content, mode: $0.file.mode) }
        let batch: AtomicFile.Batch?
        do {
            batch = dryRun ? nil : try AtomicFile.Batch(items)
        } catch {
            // Nothing was replaced; the failure is recorded on the first file.
            if let first = writes.first {
                await step(first.change.kind == .unit ? .unitWrite : .fileWrite, first.change.path, command: nil) {
                    throw error
                }
            }
            return
        }
        defer { batch?.finish() }
        for (index, write) in writes.enumerated() {
            let action: StepAction = write.change.kind == .unit ? .unitWrite : .fileWrite
            let written = await step(action, write.change.path, command: nil) {
                if action == .unitWrite { try FaultInjection.point("unit.write") }
                try batch?.commit(index)
                return "mode \(String(write.file.mode, radix: 8))"
            }
            guard written else { break }
            if write.change.kind == .unit { unitsChanged = true }
            // A unit of no container (the routes between hosts) runs as soon as it changes.
            if write.change.kind == .unit,
                !desired.containers.contains(where: {
                    SystemdUnit.fileName(for: $0.name) == write.change.path.lastComponent
                })
            {
                hostUnits.append(write.change.path.lastComponent)
            }
        }
        guard await log.failure == nil else { return }
        if await log.ok {
            for change in plan.files where change.action == .delete && change.kind == .file {
                let deleted = await step(.fileDelete, change.path, command: nil) {
                    try AtomicFile.remove(change.path)
                    return "removed"
                }
                guard deleted else { break }
            }
            guard await log.failure == nil else { return }
        }
        // Also when interrupted: what was written is recorded, and systemd reads the units.
        // Units that leave go after their containers are stopped, in `unitDeletions`.
        let pendingUnits = plan.files.filter { $0.action == .delete && $0.kind == .unit }.map(\.path)
        await record {
            try await recorder.files(
                contents.keys.sorted().filter { path in
                    plan.files.contains { $0.path == path && $0.action != .delete }
                } + pendingUnits)
        }
        if systemd && unitsChanged { await serviceStep(.daemonReload, target: "systemd", evenIfInterrupted: true) }
        for unit in hostUnits where systemd {
            guard await log.ok, await serviceStep(.enable(unit), target: unit) else { return }
            await serviceStep(.restart(unit), target: unit)
        }
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
                try FaultInjection.point("container.remove")
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
            let gates = Set(wave.flatMap { desired.container(named: $0.name)?.dependsOn ?? [] }).subtracting(started)
                .sorted()
            await forEachConcurrently(gates, limit: options.concurrency) { await health.awaitDependency($0) }
            guard await log.ok else { return }

            await forEachConcurrently(wave, limit: options.concurrency) { change in
                await start(change, enable: newUnits.contains(SystemdUnit.fileName(for: change.name)))
            }
            let launched = wave.filter { $0.action != .adopt }
            started.formUnion(launched.map(\.name))
            guard await log.ok else { return }
            await health.verifyStarted(launched)
            guard await log.ok else { return }
        }
        if completing {
            // Checked like a started container: running, and healthy if it has a health check.
            let untouched = plan.containers.filter {
                $0.action == .inSync && actual.containers[$0.name] != nil && !started.contains($0.name)
            }
            await health.verifyStarted(
                untouched.map { change in
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
                try await recorder.container(
                    change.name, .init(arguments: arguments, configHash: hash, containerID: observedID))
                return "recorded as managed without a restart"
            }
        case .start where !systemd:
            await podmanStep(.containerStart, change.name, ["container", "start", change.name]) { _ in
                try await recorder.container(
                    change.name, .init(arguments: arguments, configHash: hash, containerID: observedID))
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
                await record {
                    try await recorder.container(
                        change.name, .init(arguments: arguments, configHash: hash, containerID: nil))
                }
                await record { try await recorder.raiseVersion(desired.applicationVersion) }
                return
            }
            let labels = [
                KeyValue(PodmanArguments.managedLabel, "true"), KeyValue(PodmanArguments.hashLabel, hash),
                KeyValue(PodmanArguments.commitLabel, commit),
            ]
            let run = PodmanArguments.run(c.definition, extraLabels: labels)
            await podmanStep(action, change.name, run) { result in
                try FaultInjection.point("container.create")
                // `--replace` prints the old container's name first; the new id is the last line.
                let id = result.stdoutText.split(separator: "\n").last.map {
                    String($0).trimmingCharacters(in: .whitespaces)
                }
                try await recorder.container(
                    change.name, .init(arguments: arguments, configHash: hash, containerID: id))
                try await recorder.raiseVersion(desired.applicationVersion)
                return "running \(id.map { String($0.prefix(12)) } ?? "")"
            }
        case .remove, .inSync:
            return
        }
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
            let reload =
                change.reload
                ?? (change.action == .delete
                    ? desired.files.first {
                        ($0.path as NSString).deletingLastPathComponent
                            == (change.path as NSString).deletingLastPathComponent && $0.reload != nil
                    }?.reload : nil)
            guard let reload, !started.contains(reload.container),
                seen.insert([reload.container] + reload.command).inserted
            else { continue }
            reloads.append(reload)
        }
        for reload in reloads {
            guard actual.containers[reload.container]?.isRunning == true else { continue }
            if !dryRun, let why = interruption {
                await log.interrupt(why)
                return
            }
            let command = ["container", "exec", reload.container] + reload.command
            let argv = ["podman"] + command
            if dryRun {
                await log.add(
                    StepRecord(
                        action: .containerReload, target: reload.container, command: argv,
                        started: Date(), ended: Date(), result: .planned))
                continue
            }
            let began = Date()
            do {
                try FaultInjection.point("container.reload")
                try await engine.execute(command)
                await log.add(
                    StepRecord(
                        action: .containerReload, target: reload.container, command: argv,
                        started: began, ended: Date(), result: .ok, detail: "reloaded"))
            } catch {
                // Not a failure yet: a restart reads the files too.
                await log.add(
                    StepRecord(
                        action: .containerReload, target: reload.container, command: argv,
                        started: began, ended: Date(), result: .failed,
                        detail: "reload failed; restarting the container instead",
                        stderr: (error as? CommandError)?.stderr), failsRollout: false)
                if systemd {
                    await serviceStep(
                        .restart(SystemdUnit.fileName(for: reload.container)), target: reload.container,
                        action: .containerRestart)
                } else {
                    let restart = ["container", "restart", "--time", "10", reload.container]
                    await podmanStep(.containerRestart, reload.container, restart) { _ in "restarted" }
                }
                guard await log.ok else { return }
                if let change = plan.containers.first(where: { $0.name == reload.container }) {
                    var restarted = change
                    restarted.action = .start
                    await health.verifyStarted([restarted])
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
    func step(
        _ action: StepAction, _ target: String, command: [String]?, evenIfInterrupted: Bool = false,
        _ body: @Sendable () async throws -> String?
    ) async -> Bool {
        let began = Date()
        if dryRun {
            await log.add(
                StepRecord(
                    action: action, target: target, command: command, started: began, ended: began, result: .planned))
            return true
        }
        if !evenIfInterrupted, let why = interruption {
            await log.interrupt(why)
            return false
        }
        do {
            let detail = try await body()
            await log.add(
                StepRecord(
                    action: action, target: target, command: command, started: began, ended: Date(), result: .ok,
                    detail: detail))
            return true
        } catch {
            logger.warning(
                "rollout step failed",
                metadata: [
                    "step.action": "\(action.rawValue)", "step.target": "\(target)", "error": "\(error)",
                ])
            await log.add(
                StepRecord(
                    action: action, target: target, command: command, started: began, ended: Date(), result: .failed,
                    detail: (error as? CommandError).map { "exit status \($0.status.map(String.init) ?? "?")" }
                        ?? "\(error)",
                    stderr: (error as? CommandError)?.stderr))
            return false
        }
    }

    /// One podman command as a step; `then` runs after it succeeds (recording, detail).
    @discardableResult
    func podmanStep(
        _ action: StepAction, _ target: String, _ arguments: [String],
        then: @escaping @Sendable (ProcessResult) async throws -> String?
    ) async -> Bool {
        await step(action, target, command: ["podman"] + arguments) {
            let result = try await engine.execute(arguments)
            return try await then(result)
        }
    }

    /// One `systemctl` action as a step: `systemd.<verb>`, unless `action` says what it does to a container.
    @discardableResult
    func serviceStep(
        _ service: ServiceAction, target: String, action: StepAction? = nil,
        evenIfInterrupted: Bool = false
    ) async -> Bool {
        guard let serviceManager else { return true }
        let name = action ?? .systemd(service)
        return await step(
            name, target, command: ["systemctl"] + service.arguments, evenIfInterrupted: evenIfInterrupted
        ) {
            if service == .daemonReload { try FaultInjection.point("systemd.daemon-reload") }
            try await serviceManager.perform(service)
            return nil
        }
    }

    /// Bookkeeping (applied.json) that is not a step of its own but can fail like one.
    func record(_ body: @Sendable () async throws -> Void) async {
        guard !dryRun else { return }
        do { try await body() } catch {
            let path = AppliedState.path(in: recorder.stateDirectory)
            await log.add(
                StepRecord(
                    action: .stateWrite, target: path, command: nil, started: Date(), ended: Date(),
                    result: .failed, detail: "\(error)"))
        }
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

/// `1.5 s`, `42 s`: a duration for people.
func formatSeconds(_ seconds: Double) -> String {
    seconds < 10 ? String(format: "%.1f s", seconds) : "\(Int(seconds.rounded())) s"
}
