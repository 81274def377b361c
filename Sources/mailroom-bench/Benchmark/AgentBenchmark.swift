import Foundation
import Logging
import MailroomAgent
import MailroomHost
import MailroomMailu
import MailroomSupport
import MailroomTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The agent's figures: push → rollout started, override file change → rollout started, and
/// an idle agent's memory and wake-ups.
public struct AgentBenchmarkResult: Sendable, CustomStringConvertible {
    /// From the start of `git push` to the reconciler starting the rollout of that commit.
    public var pushToRollout: SourceBenchmarkResult.Figures
    /// From writing a file under an override directory to the rollout starting.
    public var overrideToRollout: SourceBenchmarkResult.Figures
    public var debounceMs: Double
    /// Pushes or edits not followed by a rollout within 5 s.
    public var missed: Int
    /// The idle child `mailroom agent` and the `podman events` it follows; nil without an executable.
    public var idle: IdleAgentFigures?
    public var idleSeconds: Double

    /// Targets: push p50 < 50 ms, override p50 < debounce + 50 ms, idle RSS (VmRSS) < 30 MiB, no
    /// idle wake-ups of the agent's threads. The podman child is reported beside, not counted.
    public var meetsTargets: Bool {
        missed == 0 && pushToRollout.p50 < 50 && overrideToRollout.p50 < debounceMs + 50
            && (idle.map { $0.agent.rssMiB < 30 && $0.agent.wakeups == 0 } ?? true)
    }

    public var description: String {
        var lines = [
            "agent",
            "  push -> rollout started (from git push start): \(pushToRollout)  [target p50 < 50 ms]",
            "  override edit -> rollout started:             \(overrideToRollout)  [target p50 < \(Int(debounceMs)) + 50 ms]",
            "  missed: \(missed)",
        ]
        if let idle {
            let agent = idle.agent
            lines += [
                "  idle agent RSS: \(mib(agent.rssMiB))  [target < 30 MiB]",
                "    anon \(mib(agent.anonMiB)), file \(mib(agent.fileMiB)), shmem \(mib(agent.shmemMiB))",
                "  idle wake-ups over \(Int(idleSeconds)) s: \(agent.wakeups)  [target 0 besides timers]",
                "    by thread: "
                    + (agent.byThread.isEmpty
                        ? "none" : agent.byThread.map { "\($0.name) \($0.wakeups)" }.joined(separator: ", ")),
            ]
            if let podman = idle.podman {
                lines += [
                    "  podman events child (podman's own, not in the figures above): RSS \(mib(podman.rssMiB)), "
                        + "\(podman.wakeups) wake-ups over \(Int(idleSeconds)) s"
                ]
            }
        } else {
            lines += ["  idle agent: not measured (no mailroom executable, or it did not become ready)"]
        }
        lines.append("  targets met: \(meetsTargets ? "yes" : "no")")
        return lines.joined(separator: "\n")
    }

    private func mib(_ value: Double) -> String {
        String(format: "%.1f MiB", value)
    }
}

/// An idle process's memory and wake-ups, from `/proc`.
public struct IdleProcessFigures: Sendable {
    /// VmRSS: every resident page, shared library pages included; the headline figure.
    public var rssMiB: Double
    public var anonMiB: Double
    public var fileMiB: Double
    public var shmemMiB: Double
    /// Context switches of every thread over the window; a thread that ended counts once.
    public var wakeups: Int
    /// Wake-ups by thread name (`/proc/PID/task/TID/comm`), most first; threads that did not wake are left out.
    public var byThread: [(name: String, wakeups: Int)]
}

/// The idle agent, and the `podman events` child it starts.
public struct IdleAgentFigures: Sendable {
    public var agent: IdleProcessFigures
    public var podman: IdleProcessFigures?
}

/// Runs the agent in-process in dry-run mode (every trigger and the reconciler as in
/// production; the rollout observes podman, plans and records the plan, and changes nothing)
/// against a scratch bare repository, and, with `idleAgent` and a built `mailroom` beside the
/// benchmark (``MailroomBinary``), an idle child agent.
public enum AgentBenchmark {
    public static func run(
        idleAgent: Bool = true, iterations: Int = 20, debounce: Duration = .milliseconds(200),
        idleSeconds: Double = 10
    ) async throws -> AgentBenchmarkResult {
        try await TestPodman.ensureImages()
        let deployment = try await TestDeployment.make("agent-bench", stem: "mrb")
        do {
            let result = try await run(
                deployment, idleAgent: idleAgent, iterations: iterations, debounce: debounce, idleSeconds: idleSeconds)
            await deployment.cleanup()
            return result
        } catch {
            await deployment.cleanup()
            throw error
        }
    }

    static func run(
        _ deployment: TestDeployment, idleAgent: Bool, iterations: Int, debounce: Duration,
        idleSeconds: Double
    ) async throws -> AgentBenchmarkResult {
        let spec = { (n: Int) in deployment.standInSpec() + "# revision \(n)\n" }
        let repo = try ScratchRepository(files: ["mailroom.yaml": spec(0)])
        defer { repo.remove() }
        let overrides = deployment.root + "/mailu/overrides/postfix"
        try FileManager.default.createDirectory(atPath: overrides, withIntermediateDirectories: true)

        var config = deployment.agentConfiguration(repository: repo.origin)
        config.debounce = debounce
        config.dryRun = true
        let agent = try TestAgent.make(
            config, logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
        let starts = LockedValue<[(commit: String, files: Bool, at: ContinuousClock.Instant)]>([])
        await agent.reconciler.setRolloutObserver { commit, reasons in
            starts.withLock { $0.append((commit, reasons.contains(.files), .now)) }
        }
        let task = Task { try await agent.run() }
        defer { task.cancel() }

        func wait(_ condition: () -> Bool) async -> Bool {
            let deadline = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < deadline {
                if condition() { return true }
                try? await Task.sleep(for: .milliseconds(1))
            }
            return false
        }
        var missed = 0
        let first = try repo.head()
        _ = await wait { starts.current.contains { $0.commit == first } }
        try await Task.sleep(for: .milliseconds(500))  // let the first reconcile and its follow-ups settle

        var push: [Double] = []
        for n in 1...iterations {
            _ = try repo.commit(["mailroom.yaml": spec(n)], message: "revision \(n)")
            let commit = try repo.head()
            let began = ContinuousClock.now
            try repo.git("push", "--quiet", "origin", "main")
            if await wait({ starts.current.contains { $0.commit == commit } }),
                let at = starts.current.first(where: { $0.commit == commit })?.at
            {
                push.append((at - began).milliseconds)
            } else {
                missed += 1
            }
            try await Task.sleep(for: .milliseconds(300))
        }

        var edits: [Double] = []
        for n in 1...max(3, iterations / 2) {
            let seen = starts.current.count
            let began = ContinuousClock.now
            try "smtpd_banner = bench \(n)\n".write(
                toFile: overrides + "/postfix.cf", atomically: true, encoding: .utf8)
            if await wait({ starts.current.dropFirst(seen).contains { $0.files } }),
                let at = starts.current.dropFirst(seen).first(where: { $0.files })?.at
            {
                edits.append((at - began).milliseconds)
            } else {
                missed += 1
            }
            try await Task.sleep(for: debounce + .milliseconds(400))
        }
        task.cancel()
        _ = try? await task.value

        var idle: IdleAgentFigures?
        if idleAgent, (try? MailroomBinary.path) != nil {
            idle = try await idleChild(deployment: deployment, repository: repo.origin, idleSeconds: idleSeconds)
        }
        return AgentBenchmarkResult(
            pushToRollout: .init(push), overrideToRollout: .init(edits), debounceMs: debounce.milliseconds,
            missed: missed, idle: idle, idleSeconds: idleSeconds)
    }

    /// Starts `mailroom agent --dry-run` on the repository, waits for it to settle, then reads
    /// its memory and counts its threads' context switches over `idleSeconds`; the same for
    /// its `podman events` child, reported apart.
    static func idleChild(deployment: TestDeployment, repository: String, idleSeconds: Double) async throws
        -> IdleAgentFigures?
    {
        let config = try deployment.writeAgentConfig(
            repository: repository, port: deployment.portBase + 5, ["dry_run: true"],
            stateDirectory: deployment.root + "/state-idle", file: "agent-idle.yaml")
        // Readiness as systemd learns it, READY=1 after the first reconcile: polling /status
        // would leave each request's 15 s FlyingFox timeout to fire inside the window.
        let notify = try NotifyListener(path: deployment.root + "/notify.sock")
        defer { notify.close() }
        let child = try ChildAgent.start(
            config: config, log: deployment.root + "/agent-idle.log", environment: ["NOTIFY_SOCKET": notify.path],
            arguments: ["--log-level", "error"])
        let figures: IdleAgentFigures?
        do { figures = try await idleFigures(child, notify: notify, idleSeconds: idleSeconds) } catch {
            child.kill9()
            throw error
        }
        if await child.terminate() == nil { child.kill9() }
        return figures
    }

    /// Once `child` is ready and settled, its memory and its threads' wake-ups over `idleSeconds`.
    static func idleFigures(_ child: ChildAgent, notify: NotifyListener, idleSeconds: Double) async throws
        -> IdleAgentFigures?
    {
        guard await notify.wait(for: "READY=1", timeout: .seconds(60)) else { return nil }
        // Debounced follow-ups settle, and libdispatch ends worker threads idle for 5 s: the
        // window then sees the steady state, not the start-up winding down.
        try await Task.sleep(for: .seconds(6))
        let podman = ProcessSample.children(of: child.pid).first
        let before = (agent: ProcessSample(pid: child.pid), podman: podman.map(ProcessSample.init(pid:)))
        try await Task.sleep(for: .milliseconds(Int64(idleSeconds * 1000)))
        let after = (agent: ProcessSample(pid: child.pid), podman: podman.map(ProcessSample.init(pid:)))
        guard let agent = after.agent.figures(since: before.agent) else { return nil }
        let podmanFigures = after.podman.flatMap { after in before.podman.flatMap { after.figures(since: $0) } }
        return IdleAgentFigures(agent: agent, podman: podmanFigures)
    }
}

/// One look at a process in `/proc`: its memory and each thread's name and context switches.
struct ProcessSample {
    var status: [String: Double] = [:]
    /// Thread id → (name, voluntary + involuntary context switches).
    var threads: [String: (name: String, switches: Int)] = [:]

    init(pid: pid_t) {
        for line in Self.read("/proc/\(pid)/status").split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == ":" || $0 == " " || $0 == "\t" })
            if fields.count >= 2, let value = Double(fields[1]) { status[String(fields[0])] = value }
        }
        for task in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? [] {
            let name = Self.read("/proc/\(pid)/task/\(task)/comm").trimmingCharacters(in: .whitespacesAndNewlines)
            var switches = 0
            for line in Self.read("/proc/\(pid)/task/\(task)/status").split(separator: "\n")
            where line.contains("ctxt_switches:") {
                switches += Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).last ?? "") ?? 0
            }
            threads[task] = (name, switches)
        }
    }

    /// The process's children, from `/proc/PID/task/*/children`.
    static func children(of pid: pid_t) -> [pid_t] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { read("/proc/\(pid)/task/\($0)/children").split(separator: " ").compactMap { pid_t($0) } }
    }

    /// Memory now, and wake-ups since `before`: per thread, so a thread that ended does not
    /// subtract; it counts once (it woke at least to end), a new thread counts from zero.
    func figures(since before: ProcessSample) -> IdleProcessFigures? {
        guard let rss = status["VmRSS"] else { return nil }
        var byName: [String: Int] = [:]
        for (task, thread) in threads {
            byName[thread.name, default: 0] += thread.switches - (before.threads[task]?.switches ?? 0)
        }
        for (task, thread) in before.threads where threads[task] == nil {
            byName[thread.name + " (ended)", default: 0] += 1
        }
        let woke = byName.filter { $0.value > 0 }.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map {
            (name: $0.key, wakeups: $0.value)
        }
        func mib(_ key: String) -> Double { (status[key] ?? 0) / 1024 }
        return IdleProcessFigures(
            rssMiB: rss / 1024, anonMiB: mib("RssAnon"), fileMiB: mib("RssFile"), shmemMiB: mib("RssShmem"),
            wakeups: byName.values.reduce(0, +), byThread: woke)
    }

    private static func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}
