import Foundation
import MailroomHost
import MailroomPlan
import MailroomRender

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
        await forEachConcurrently(changes, limit: options.concurrency) { change in
            await verify(change, inspection: inspections[change.name], since: began)
        }
    }

    /// One container of a wave, from the wave's inspect.
    private func verify(_ change: ContainerChange, inspection: ContainerInspection?, since began: Date) async {
        let name = change.name
        guard let inspection else {
            await log.add(waited(name, since: began, .failed, "the container is gone right after it was started"))
            return
        }
        await inspected?(name, inspection.id)
        // A fresh container that podman already restarted is crash-looping.
        let looping = inspection.restartCount > 0 && change.action != .start
        guard inspection.state.running, !looping else {
            let restarts = "\(inspection.restartCount) time\(inspection.restartCount == 1 ? "" : "s")"
            await failed(
                name, since: began,
                inspection.state.running
                    ? "exited right after it started and its restart policy restarted it \(restarts) (a crash loop)"
                    : "exited with status \(inspection.state.exitCode) right after it started")
            return
        }
        let spec = desired.container(named: name)?.hasHealthcheck ?? false
        let image = !inspection.config.healthcheck.isEmpty && inspection.config.healthcheck.first != "NONE"
        if spec || image {
            await waitHealthy(name, since: began)
        } else {
            await log.add(waited(name, since: began, .ok, "running"))
        }
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
