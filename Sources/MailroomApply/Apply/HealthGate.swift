import Foundation
import MailroomHost
import MailroomPlan
import MailroomRender
import MailroomSupport

/// When a container counts as up: running, not crash-looping, and healthy within the health
/// timeout. Kept apart from ``RolloutExecution`` because how long to wait, and what to say
/// when a container does not come up, is a policy of its own; the rollout only decides when to ask.
/// Every answer is one `container.wait` step in the ``RolloutLog``.
struct HealthGate: Sendable {
    var desired: DesiredState
    var actual: ActualState
    var engine: any ContainerEngine
    var options: ApplyOptions
    var log: RolloutLog
    /// Told each inspected container's id: a unit starts its container without saying which id it got.
    var inspected: (@Sendable (_ name: String, _ id: String) async -> Void)?

    var dryRun: Bool { options.dryRun }

    /// After a wave started: one batched inspect, then each container must be running (and not
    /// restarted by its restart policy) and, with a health check, healthy within the timeout.
    func verifyStarted(_ changes: [ContainerChange]) async {
        guard !changes.isEmpty else { return }
        let names = changes.map(\.name)
        if dryRun {
            for name in names { await log.add(waited(name, since: Date(), .planned, "wait until running and healthy")) }
            return
        }
        let began = Date()
        let inspections: [String: ContainerInspection]
        do {
            inspections = Dictionary(
                try await engine.inspectContainers(names).map { (Self.bare($0.name), $0) },
                uniquingKeysWith: { first, _ in first })
        } catch {
            await log.add(
                waited(
                    names.joined(separator: ","), command: ["podman", "container", "inspect"] + names,
                    since: began, .failed, "\(error)", stderr: (error as? CommandError)?.stderr))
            return
        }
        // Containers without a health check, with their restart count at this inspect.
        let settling = LockedValue<[String: Int]>([:])
        await forEachConcurrently(changes, limit: options.concurrency) { change in
            if await verify(change, inspection: inspections[change.name], since: began) {
                settling.withLock {
                    $0[change.name] = change.action == .start ? inspections[change.name]?.restartCount : 0
                }
            }
        }
        await settle(settling.current, since: began)
    }

    /// One container of a wave, from the wave's inspect. True when it runs without a health
    /// check, so only staying up for the settle time tells that it works.
    private func verify(_ change: ContainerChange, inspection: ContainerInspection?, since began: Date) async -> Bool {
        let name = change.name
        guard let inspection else {
            await log.add(waited(name, since: began, .failed, "the container is gone right after it was started"))
            return false
        }
        await inspected?(name, inspection.id)
        // A fresh container that podman already restarted is crash-looping.
        let looping = inspection.restartCount > 0 && change.action != .start
        guard inspection.state.running, !looping else {
            await failed(
                name, since: began, await exited(inspection, restartsBefore: 0, "right after it started", since: began))
            return false
        }
        let spec = desired.container(named: name)?.hasHealthcheck ?? false
        let image = !inspection.config.healthcheck.isEmpty && inspection.config.healthcheck.first != "NONE"
        guard spec || image else { return true }
        await waitHealthy(name, since: began)
        return false
    }

    /// Containers without a health check count as up once they stayed running for the settle
    /// time (as Kubernetes' `minReadySeconds`): one that exits, or that its restart policy
    /// restarts, a few seconds after it started fails its wave. One batched inspect every half
    /// second; a container that fails ends its wait at once.
    private func settle(_ restartsAtStart: [String: Int], since began: Date) async {
        guard !restartsAtStart.isEmpty else { return }
        let clock = ContinuousClock()
        let end = clock.now + options.settleTime
        let seconds = formatSeconds(options.settleTime.seconds)
        var watching = restartsAtStart
        while !watching.isEmpty, clock.now < end {
            try? await Task.sleep(for: min(.milliseconds(500), end - clock.now))
            if let why = options.currentInterruption() {
                for name in watching.keys.sorted() {
                    await log.add(waited(name, since: began, .cancelled, "settle wait ended: \(why.explanation)"))
                }
                await log.interrupt(why)
                return
            }
            let names = watching.keys.sorted()
            guard let inspections = try? await engine.inspectContainers(names) else { continue }
            let found = Dictionary(
                inspections.map { (Self.bare($0.name), $0) }, uniquingKeysWith: { first, _ in first })
            for name in names {
                let before = watching[name] ?? 0
                guard let inspection = found[name] else {
                    await log.add(
                        waited(name, since: began, .failed, "the container is gone within \(seconds) of starting"))
                    watching[name] = nil
                    continue
                }
                if !inspection.state.running || inspection.restartCount > before {
                    let why = await exited(
                        inspection, restartsBefore: before, "within \(seconds) of starting (the settle time)",
                        since: began)
                    await failed(name, since: began, why)
                    watching[name] = nil
                }
            }
        }
        for name in watching.keys.sorted() {
            await log.add(waited(name, since: began, .ok, "running; stayed up for \(seconds)"))
        }
    }

    /// Why a container does not count as up: always its exit status, and the restarts its
    /// restart policy made, when it made any. A restarted container's inspect says 0 again, so
    /// its last exit status comes from podman's `died` event (read-only).
    func exited(_ inspection: ContainerInspection, restartsBefore: Int, _ when: String, since began: Date) async
        -> String
    {
        let restarts = inspection.restartCount - restartsBefore
        var status = inspection.state.exitCode
        if inspection.state.running || restarts > 0, let died = await lastExitStatus(inspection.id, since: began) {
            status = died
        }
        var text = "exited with status \(status) \(when)"
        if restarts > 0 {
            text += "; its restart policy restarted it \(restarts) time\(restarts == 1 ? "" : "s") (a crash loop)"
        }
        return text
    }

    /// The exit status of the container's last `died` event since `began`.
    private func lastExitStatus(_ id: String, since began: Date) async -> Int? {
        let since = InternetTime.string(from: began.addingTimeInterval(-1))
        guard
            let result = try? await engine.execute([
                "events", "--stream=false", "--since", since, "--filter", "container=\(id)", "--filter", "event=died",
                "--format", "json",
            ])
        else { return nil }
        let lines = result.stdoutText.split(separator: "\n")
        return lines.reversed().lazy.compactMap { line -> Int? in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return (object?["ContainerExitCode"] as? NSNumber)?.intValue
        }.first
    }

    /// A dependency this rollout did not start: it must be running, and healthy if it has a health check.
    func awaitDependency(_ name: String) async {
        let began = Date()
        guard let observed = actual.containers[name] else { return }
        if dryRun { return }
        guard observed.isRunning else {
            await log.add(
                waited(
                    name, since: began, .failed,
                    "a dependency of this wave is \(observed.summary.state), not running"))
            return
        }
        if desired.container(named: name)?.hasHealthcheck == true || observed.summary.health != nil {
            await waitHealthy(name, since: began)
        }
    }

    /// `podman healthcheck run` until it passes (0) or the timeout: 1 is "not yet", anything else fails now.
    private func waitHealthy(_ name: String, since began: Date) async {
        let clock = ContinuousClock()
        let deadline = clock.now + options.healthTimeout
        var delay: Duration = .milliseconds(100)
        var checks = 0
        let command = ["healthcheck", "run", name]
        let argv = ["podman"] + command
        func times(_ checks: Int) -> String { "\(checks) check\(checks == 1 ? "" : "s")" }
        while true {
            checks += 1
            do {
                try await engine.execute(command)
                await log.add(waited(name, command: argv, since: began, .ok, "healthy after \(times(checks))"))
                return
            } catch let error as CommandError where error.status == 1 {
                if let why = options.currentInterruption() {
                    await log.add(
                        waited(
                            name, command: argv, since: began, .cancelled,
                            "wait ended after \(times(checks)): \(why.explanation)"))
                    await log.interrupt(why)
                    return
                }
                if clock.now + delay > deadline {
                    let timeout = options.healthTimeout.components
                    let seconds = Double(timeout.seconds) + Double(timeout.attoseconds) / 1e18
                    await failed(
                        name, command: argv, since: began,
                        "still unhealthy after \(checks) checks in \(formatSeconds(seconds))",
                        stderr: error.stderr.isEmpty ? nil : error.stderr)
                    return
                }
            } catch {
                await failed(
                    name, command: argv, since: began, "health check could not run: \(error)",
                    stderr: (error as? CommandError)?.stderr)
                return
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
    }

    /// A `container.wait` step that ends now.
    private func waited(
        _ target: String, command: [String]? = nil, since began: Date, _ result: StepRecord.Result,
        _ detail: String, stderr: String? = nil
    ) -> StepRecord {
        StepRecord(
            action: .containerWait, target: target, command: command, started: began, ended: Date(),
            result: result, detail: detail, stderr: stderr)
    }

    /// A failed wait, with the container's last log lines to say why; it ends before they are read.
    private func failed(
        _ name: String, command: [String]? = nil, since began: Date, _ why: String,
        stderr: String? = nil
    ) async {
        let ended = Date()
        let detail = why + (await logTail(name))
        await log.add(
            StepRecord(
                action: .containerWait, target: name, command: command, started: began, ended: ended,
                result: .failed, detail: detail, stderr: stderr))
    }

    /// The container's last log lines, to say why it failed (read-only).
    private func logTail(_ name: String) async -> String {
        guard let result = try? await engine.execute(["container", "logs", "--tail", "5", name]) else { return "" }
        let text = (result.stdoutText + String(decoding: result.stderr, as: UTF8.self))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "" : "; last log lines: " + text.split(separator: "\n").suffix(5).joined(separator: " | ")
    }

    /// podman may report a container's name with a leading slash.
    private static func bare(_ name: String) -> String { name.hasPrefix("/") ? String(name.dropFirst()) : name }
}
