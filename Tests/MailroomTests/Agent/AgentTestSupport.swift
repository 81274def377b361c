import Foundation
import Logging
import Testing
@testable import MailroomAgent
@testable import MailroomApply
@testable import MailroomHost
@testable import MailroomSupport
@testable import MailroomTestSupport
@testable import MailroomMailu

/// An in-process agent on a scratch repository and a test deployment: real git, inotify and
/// podman.
enum AgentHarness {
    struct Running {
        let deployment: TestDeployment
        let repo: ScratchRepository
        let agent: Agent
        let task: Task<Void, any Error>
        let port: UInt16
        let secret = "webhook-test-secret"

        func name(_ profileName: String) -> String { deployment.prefix + profileName }

        func status() async throws -> AgentStatus {
            try AgentStatus.decode(try await AgentClient.get(URL(string: "http://127.0.0.1:\(port)/status")!))
        }

        func containers() async throws -> [String: ContainerSummary] {
            let all = try await TestPodman.podman().listContainers()
            return Dictionary(all.filter { $0.name.hasPrefix(deployment.prefix) }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        }

        var history: RolloutHistory { RolloutHistory.load(stateDirectory: deployment.host.stateDirectory) }

        /// Reconciles so far for `reason` (`git`, `files`, `resync`, `control`, ...).
        func reconciles(_ reason: String) async -> Int { await agent.reconciler.metrics.reconciles[reason] ?? 0 }

        /// Waits until the agent has applied `commit` and is idle.
        func waitApplied(_ commit: String, timeout: Duration = .seconds(15)) async throws {
            try await waitFor(timeout, "applied commit \(commit.prefix(12))") {
                let s = try await status()
                return s.appliedCommit == commit && !s.reconciling
            }
        }

        /// POST /resync, then waits until that reconcile has run to its end. Metrics and
        /// `reconciling` change in one actor turn, so "counted and not reconciling" is "done".
        func resync() async throws {
            let before = await reconciles("control")
            try await AgentClient.post(URL(string: "http://127.0.0.1:\(port)/resync")!)
            try await waitFor(.seconds(15), "the resync reconcile") {
                await reconciles("control") > before
                    ? !(try await status().reconciling) : false
            }
        }
    }

    /// Starts an agent on `repo`; `configure` adjusts the test defaults.
    static func start(repo: ScratchRepository, deployment: TestDeployment,
                      configure: (inout AgentConfiguration) -> Void = { _ in }) async throws -> Running {
        var config = AgentConfiguration(repository: repo.origin)
        config.stateDirectory = deployment.host.stateDirectory
        config.unitsDirectory = deployment.host.unitsDirectory
        config.secretsFile = deployment.host.secretsFile
        config.listenPort = 0
        config.debounce = .milliseconds(200)
        config.healthTimeout = .seconds(5)
        config.selfHealRestarts = 2
        let secretFile = deployment.root + "/webhook.secret"
        try "webhook-test-secret\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        config.webhookSecretFile = secretFile
        configure(&config)
        let podman = try TestPodman.podman()
        let agent = try Agent(configuration: config, engine: podman, profile: MailuProfile(), podmanExecutable: podman.executable, serviceManager: nil,
                              logger: testLogger("mailroom.agent.test"), notify: SystemdNotify(environment: [:]))
        let task = Task { try await agent.run() }
        var port: UInt16?
        for _ in 0..<250 where port == nil {
            try await Task.sleep(for: .milliseconds(20))
            port = await agent.http.port()
        }
        guard let port else {
            task.cancel()
            _ = try? await task.value
            throw TestSetupError("the agent's listener did not come up")
        }
        return Running(deployment: deployment, repo: repo, agent: agent, task: task, port: port)
    }

    /// Runs `body` with a started agent; stops it and removes everything, also on failure.
    static func with(spec: (TestDeployment) -> String, label: String = "agent", configure: (inout AgentConfiguration) -> Void = { _ in },
                     _ body: (Running) async throws -> Void) async throws {
        try await TestPodman.ensureImages()
        let deployment = try await TestDeployment.make(label)
        var repo: ScratchRepository?
        var running: Running?
        do {
            repo = try ScratchRepository(files: ["mailroom.yaml": spec(deployment)])
            running = try await start(repo: repo!, deployment: deployment, configure: configure)
            try await body(running!)
        } catch {
            await stop(running, repo: repo, deployment: deployment)
            throw error
        }
        await stop(running, repo: repo, deployment: deployment)
    }

    static func stop(_ running: Running?, repo: ScratchRepository?, deployment: TestDeployment) async {
        running?.task.cancel()
        _ = try? await running?.task.value
        repo?.remove()
        await deployment.cleanup()
    }

    /// The agent's log on stderr with MAILROOM_TEST_LOG set, else nothing.
    static func testLogger(_ label: String) -> Logger {
        Logger(label: label, factory: { label in
            ProcessInfo.processInfo.environment["MAILROOM_TEST_LOG"] != nil ? StreamLogHandler.standardError(label: label) as any LogHandler
                : SwiftLogNoOpLogHandler()
        })
    }
}

/// `mailroom agent --config` as a child process (signals, sd_notify), its stderr kept in a log file.
struct ChildAgent {
    let pid: pid_t
    let log: String

    /// Starts the agent through `env` (same pid), with `environment` added to an isolated one.
    static func start(config: String, log: String, environment: [String: String] = [:]) throws -> ChildAgent {
        let assignments = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let child = try ProcessRunner().start(["/bin/sh", "-c", "log=$1; shift; exec \"$@\" 2>\"$log\"", "sh", log]
                                              + isolatedEnvironment + assignments + [try MailroomBinary.path, "agent", "--config", config])
        return ChildAgent(pid: child.pid, log: log)
    }

    var logText: String { String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self) }

    /// Whether it still runs (an exited child is reaped here).
    var stillRunning: Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    /// SIGTERM, then waits up to `timeout`; the exit status, or nil if it is still running.
    func terminate(timeout: Duration = .seconds(20)) async -> Int32? {
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while ContinuousClock.now < deadline {
            if waitpid(pid, &status, WNOHANG) == pid { return status }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    /// SIGKILL and reap: the cleanup when a test failed.
    func kill9() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}

/// `env` without the variables other suites set process-wide while they run (a podman socket
/// that goes away with its test, a notify socket): children started meanwhile would inherit them.
let isolatedEnvironment = ["/usr/bin/env", "-u", "MAILROOM_PODMAN_SOCKET", "-u", "NOTIFY_SOCKET", "-u", "WATCHDOG_USEC", "-u", "WATCHDOG_PID"]

/// Runs the `mailroom` CLI in the isolated environment; `host` adds the deployment's paths.
func mailroomCLI(_ arguments: [String], host: HostPaths? = nil) async throws -> ProcessResult {
    let hostFlags = host.map { ["--state-dir", $0.stateDirectory, "--units-dir", $0.unitsDirectory, "--secrets-file", $0.secretsFile] } ?? []
    return try await ProcessRunner().run(isolatedEnvironment + [try MailroomBinary.path] + arguments + hostFlags)
}

/// Drains a ``NotifyListener`` as datagrams arrive: its kernel queue holds only
/// `net.unix.max_dgram_qlen` (10) datagrams, and a full one blocks the agent's `sendto`.
final class NotifyRecorder: Sendable {
    private let messages = LockedValue<[(at: ContinuousClock.Instant, text: String)]>([])
    private let task: Task<Void, Never>

    init(_ listener: NotifyListener) {
        let messages = messages
        task = Task {
            while !Task.isCancelled {
                while let text = listener.receive(timeout: 0) { messages.withLock { $0.append((ContinuousClock.now, text)) } }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    var all: [(at: ContinuousClock.Instant, text: String)] { messages.current }

    /// Datagrams received after index `from`.
    func since(_ from: Int) -> [(at: ContinuousClock.Instant, text: String)] { Array(all.dropFirst(from)) }

    func stop() async {
        task.cancel()
        await task.value
    }
}

/// Reads `/metrics` of an agent on `port` and returns `name{labels} value` as a number (0 when absent).
func metricValue(port: Int, _ series: String) async throws -> Double {
    let text = String(decoding: try await AgentClient.get(URL(string: "http://127.0.0.1:\(port)/metrics")!), as: UTF8.self)
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1)) ?? 0
    }
    return 0
}

/// The body of GET `url`, or nil after `timeout`: for diagnostics in a failing test, which must
/// not hang on a listener that accepts nothing (AgentClient has no timeout of its own).
func fetchText(_ url: URL, timeout: Duration = .seconds(2)) async -> String? {
    let result = LockedValue<String?>(nil)
    let task = Task { if let data = try? await AgentClient.get(url) { result.withLock { $0 = String(decoding: data, as: UTF8.self) } } }
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline, result.current == nil { try? await Task.sleep(for: .milliseconds(20)) }
    task.cancel()
    return result.current
}
