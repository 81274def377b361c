import Foundation
import Logging

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
    /// VmRSS of an idle child `mailroom agent`, in MiB; nil without an executable.
    public var idleRSSMiB: Double?
    /// Context switches of every thread of the idle child over `idleSeconds`.
    public var idleWakeups: Int?
    public var idleSeconds: Double

    /// Targets: push p50 < 50 ms, override p50 < debounce + 50 ms, idle RSS < 30 MiB, no idle wake-ups.
    public var meetsTargets: Bool {
        missed == 0 && pushToRollout.p50 < 50 && overrideToRollout.p50 < debounceMs + 50
            && (idleRSSMiB.map { $0 < 30 } ?? true) && (idleWakeups.map { $0 == 0 } ?? true)
    }

    public var description: String {
        """
        agent
          push -> rollout started (from git push start): \(pushToRollout)  [target p50 < 50 ms]
          override edit -> rollout started:             \(overrideToRollout)  [target p50 < \(Int(debounceMs)) + 50 ms]
          missed: \(missed)
          idle agent RSS: \(idleRSSMiB.map { String(format: "%.1f MiB", $0) } ?? "not measured (no mailroom executable)")  [target < 30 MiB]
          idle wake-ups over \(Int(idleSeconds)) s: \(idleWakeups.map(String.init) ?? "not measured")  [target 0 besides timers]
          targets met: \(meetsTargets ? "yes" : "no")
        """
    }
}

/// Runs the agent in-process in dry-run mode (every trigger and the reconciler as in
/// production; the rollout observes podman, plans and records the plan, and changes nothing)
/// against a scratch bare repository, and, with `mailroomExecutable`, an idle child agent.
public enum AgentBenchmark {
    public static func run(mailroomExecutable: String? = nil, iterations: Int = 20, debounce: Duration = .milliseconds(200),
                           idleSeconds: Double = 10) async throws -> AgentBenchmarkResult {
        let root = NSTemporaryDirectory() + "mailroom-agent-bench-\(getpid())"
        try? FileManager.default.removeItem(atPath: root)
        try AtomicFile.makeDirectory(root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try StandInImages.useContainersConf(in: root)
        guard let podman = PodmanCLI.locate() else { throw StandInError("podman is not installed") }
        try await StandInImages.ensureBuilt(podman: podman)
        let prefix = "mrb\(getpid() % 10000)-"
        let spec = { (n: Int) in
            StandInImages.spec(prefix: prefix, index: 251, root: root, portBase: 29000) + "# revision \(n)\n"
        }
        let repo = try ScratchRepository(files: ["mailroom.yaml": spec(0)])
        defer { repo.remove() }
        let overrides = root + "/mailu/overrides/postfix"
        try FileManager.default.createDirectory(atPath: overrides, withIntermediateDirectories: true)
        try "SECRET_KEY=bench\n".write(toFile: root + "/secrets.env", atomically: true, encoding: .utf8)
        chmod(root + "/secrets.env", 0o600)

        var config = AgentConfiguration(repository: repo.origin)
        config.stateDirectory = root + "/state"
        config.unitsDirectory = root + "/units"
        config.secretsFile = root + "/secrets.env"
        config.listenPort = 0
        config.debounce = debounce
        config.dryRun = true
        let agent = try Agent(configuration: config, engine: podman, podmanExecutable: podman.executable, serviceManager: nil,
                              logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }), notify: SystemdNotify(environment: [:]))
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
            if await wait({ starts.current.contains { $0.commit == commit } }), let at = starts.current.first(where: { $0.commit == commit })?.at {
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
            try "smtpd_banner = bench \(n)\n".write(toFile: overrides + "/postfix.cf", atomically: true, encoding: .utf8)
            if await wait({ starts.current.dropFirst(seen).contains { $0.files } }),
                let at = starts.current.dropFirst(seen).first(where: { $0.files })?.at {
                edits.append((at - began).milliseconds)
            } else {
                missed += 1
            }
            try await Task.sleep(for: debounce + .milliseconds(400))
        }
        task.cancel()
        _ = try? await task.value

        var rss: Double?
        var wakeups: Int?
        if let mailroomExecutable {
            (rss, wakeups) = try await idleChild(executable: mailroomExecutable, repository: repo.origin, root: root, idleSeconds: idleSeconds)
        }
        return AgentBenchmarkResult(pushToRollout: .init(push), overrideToRollout: .init(edits), debounceMs: debounce.milliseconds,
                                    missed: missed, idleRSSMiB: rss, idleWakeups: wakeups, idleSeconds: idleSeconds)
    }

    /// Starts `mailroom agent --dry-run` on the repository, waits for it to settle, then reads
    /// its RSS and counts its threads' context switches over `idleSeconds`.
    static func idleChild(executable: String, repository: String, root: String, idleSeconds: Double) async throws -> (Double?, Int?) {
        let port = 29000 + Int(getpid() % 500)
        let config = root + "/agent-idle.yaml"
        try """
            repository: \(repository)
            state-dir: \(root)/state-idle
            units-dir: \(root)/units
            secrets-file: \(root)/secrets.env
            listen: 127.0.0.1:\(port)
            dry-run: true
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let child = try ProcessRunner().start([executable, "agent", "--config", config, "--log-level", "error"])
        defer { child.stop() }
        let url = URL(string: "http://127.0.0.1:\(port)/status")!
        var ready = false
        for _ in 0..<250 where !ready {
            try await Task.sleep(for: .milliseconds(40))
            if let data = try? await AgentClient.get(url), let status = try? AgentStatus.decode(data) {
                ready = status.lastReconcile != nil && !status.reconciling
            }
        }
        guard ready else { return (nil, nil) }
        try await Task.sleep(for: .seconds(2))  // debounced follow-ups settle
        let before = contextSwitches(pid: child.pid)
        try await Task.sleep(for: .milliseconds(Int64(idleSeconds * 1000)))
        let after = contextSwitches(pid: child.pid)
        let rss = (try? String(contentsOfFile: "/proc/\(child.pid)/status", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            .flatMap { Double($0.split(separator: " ").dropFirst().first ?? "") }.map { $0 / 1024 }
        return (rss, wakeups(from: before, to: after))
    }

    /// Voluntary and involuntary context switches of each thread of `pid`, by thread id.
    static func contextSwitches(pid: pid_t) -> [String: Int]? {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
        var switches: [String: Int] = [:]
        for task in tasks {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8) else { continue }
            for line in status.split(separator: "\n") where line.contains("ctxt_switches:") {
                switches[task, default: 0] += Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).last ?? "") ?? 0
            }
        }
        return switches
    }

    /// Switches between two samples: per thread, so threads that ended do not subtract.
    static func wakeups(from before: [String: Int]?, to after: [String: Int]?) -> Int? {
        guard let before, let after else { return nil }
        return after.reduce(0) { $0 + $1.value - (before[$1.key] ?? 0) }
    }
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}
