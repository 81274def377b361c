import Foundation
import Logging
import Testing

@testable import MailroomAgent
@testable import MailroomApply
@testable import MailroomHost
@testable import MailroomMailu
@testable import MailroomSupport
@testable import MailroomTestSupport

/// An in-process agent on a scratch repository and a test deployment: real git, inotify and
/// podman.
enum AgentHarness {
    struct Running {
        let deployment: TestDeployment
        let repo: ScratchRepository
        let agent: Agent
        let task: Task<Void, any Error>
        let port: UInt16
        /// Every line the agent logged at info and above.
        let logs: LogCapture
        let secret = "webhook-test-secret"

        func name(_ profileName: String) -> String { deployment.prefix + profileName }

        func status() async throws -> AgentStatus {
            try AgentStatus.decode(try await TestHTTP.get(URL(string: "http://127.0.0.1:\(port)/status")!))
        }

        func containers() async throws -> [String: ContainerSummary] {
            let all = try await TestPodman.podman().listContainers()
            return Dictionary(
                all.filter { $0.name.hasPrefix(deployment.prefix) }.map { ($0.name, $0) },
                uniquingKeysWith: { a, _ in a })
        }

        var history: RolloutHistory { RolloutHistory.load(stateDirectory: deployment.host.stateDirectory) }

        /// Reconciles so far for `reason` (`git`, `files`, `resync`, `control`, ...).
        func reconciles(_ reason: String) async -> Int { await agent.reconciler.metrics.reconciles[reason] ?? 0 }

        /// Waits until the agent has applied `commit` and is idle.
        func waitApplied(_ commit: String, timeout: Duration = .minutes(5)) async throws {
            try await waitFor("applied commit \(commit.prefix(12))", timeout: timeout) {
                let s = try await status()
                return s.appliedCommit == commit && !s.reconciling
            }
        }

        /// POST /resync, then waits until that reconcile has run to its end. Metrics and
        /// `reconciling` change in one actor turn, so "counted and not reconciling" is "done".
        func resync() async throws {
            let before = await reconciles("control")
            try await TestHTTP.post(URL(string: "http://127.0.0.1:\(port)/resync")!)
            try await waitFor("the resync reconcile") {
                await reconciles("control") > before
                    ? !(try await status().reconciling) : false
            }
        }
    }

    /// Starts an agent on `repo`; `configure` adjusts the test defaults.
    static func start(
        repo: ScratchRepository, deployment: TestDeployment,
        configure: (inout AgentConfiguration) -> Void = { _ in }, checks: PeriodicChecks.Checks? = nil
    ) async throws -> Running {
        var config = deployment.agentConfiguration(repository: repo.origin)
        config.debounce = .milliseconds(200)
        config.healthTimeout = .seconds(5)
        // The stand-ins have no health checks: a short settle keeps rollouts quick.
        config.settleTime = .milliseconds(500)
        config.selfHealRestarts = 2
        let secretFile = deployment.root + "/webhook.secret"
        try "webhook-test-secret\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        config.webhookSecretFile = secretFile
        configure(&config)
        let logs = LogCapture()
        let agent = try TestAgent.make(
            config, logger: testLogger("mailroom.agent.test", capture: logs), checks: checks)
        let ended = LockedValue(false)
        let task = Task {
            defer { ended.withLock { $0 = true } }
            try await agent.run()
        }
        // Bounded for a listener that will never come up (the agent ended), not for a slow one.
        var port: UInt16?
        let deadline = ContinuousClock.now + .minutes(3)
        while port == nil, !ended.current, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            port = await agent.http.port()
        }
        guard let port else {
            task.cancel()
            _ = try? await task.value
            throw TestSetupError("the agent's listener did not come up")
        }
        return Running(deployment: deployment, repo: repo, agent: agent, task: task, port: port, logs: logs)
    }

    /// Runs `body` with a started agent; stops it and removes everything, also on failure.
    static func with(
        spec: (TestDeployment) -> String, label: String = "agent",
        configure: (inout AgentConfiguration) -> Void = { _ in }, checks: PeriodicChecks.Checks? = nil,
        _ body: (Running) async throws -> Void
    ) async throws {
        try await TestPodman.ensureImages()
        let deployment = try await TestDeployment.make(label)
        var repo: ScratchRepository?
        var running: Running?
        do {
            repo = try ScratchRepository(files: ["mailroom.yaml": spec(deployment)])
            running = try await start(repo: repo!, deployment: deployment, configure: configure, checks: checks)
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

    /// The agent's log on stderr with MAILROOM_TEST_LOG set, else nothing; and into `capture`.
    static func testLogger(_ label: String, capture: LogCapture? = nil) -> Logger {
        Logger(
            label: label,
            factory: { label in
                var handlers: [any LogHandler] = []
                if ProcessInfo.processInfo.environment["MAILROOM_TEST_LOG"] != nil {
                    handlers.append(StreamLogHandler.standardError(label: label))
                }
                if let capture { handlers.append(CapturingLogHandler(capture: capture, logLevel: .info)) }
                return MultiplexLogHandler(handlers)
            })
    }
}

/// Drains a ``NotifyListener`` as datagrams arrive: its kernel queue holds only
/// `net.unix.max_dgram_qlen` (10) datagrams, and a full one blocks the agent's `sendto`.
final class NotifyRecorder: Sendable {
    private let messages = LockedValue<[NotifyListener.Datagram]>([])
    private let task: Task<Void, Never>

    init(_ listener: NotifyListener) {
        let messages = messages
        task = Task {
            while !Task.isCancelled {
                while let datagram = listener.receive() { messages.withLock { $0.append(datagram) } }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    /// Every datagram so far, in the order they were sent.
    var all: [NotifyListener.Datagram] { messages.current }

    /// Datagrams received after index `from`.
    func since(_ from: Int) -> [NotifyListener.Datagram] { Array(all.dropFirst(from)) }

    func stop() async {
        task.cancel()
        await task.value
    }
}

/// Requests to an agent's listener from tests: `AgentClient`'s own 10 s limit is for
/// `mailroom status` in a terminal; a test on a loaded machine waits minutes before calling a
/// listener dead.
enum TestHTTP {
    static let timeout: Duration = .minutes(2)

    /// GET `url` (`http://HOST:PORT/path`); throws on a status other than 2xx.
    static func get(_ url: URL) async throws -> Data {
        try await send("GET", url)
    }

    /// POST an empty body to `url`; throws on a status other than 2xx.
    @discardableResult
    static func post(_ url: URL) async throws -> Data {
        try await send("POST", url)
    }

    /// GET `path` from the listener at `address` (IPv6 included).
    static func get(_ address: ListenAddress, path: String) async throws -> Data {
        try await send("GET", host: address.host, port: address.port, path: path)
    }

    static func send(_ method: String, _ url: URL) async throws -> Data {
        guard let host = url.host, let port = url.port.flatMap({ UInt16(exactly: $0) }) else {
            throw TestSetupError("expected http://HOST:PORT/path, not \(url)")
        }
        return try await send(method, host: host, port: port, path: url.path.isEmpty ? "/" : url.path)
    }

    static func send(_ method: String, host: String, port: UInt16, path: String) async throws -> Data {
        let response = try await AgentClient.send(host: host, port: port, method: method, path: path, timeout: timeout)
        guard (200..<300).contains(response.status) else {
            throw TestSetupError(
                "\(method) \(path): status \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        return response.body
    }
}

/// Reads `/metrics` of an agent on `port` and returns `name{labels} value` as a number (0 when absent).
func metricValue(port: Int, _ series: String) async throws -> Double {
    let text = String(decoding: try await TestHTTP.get(URL(string: "http://127.0.0.1:\(port)/metrics")!), as: UTF8.self)
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1)) ?? 0
    }
    return 0
}

/// The body of GET `url`, or nil after `timeout`: for diagnostics in a failing test, which must
/// not hang on a listener that accepts nothing (AgentClient has no timeout of its own).
func fetchText(_ url: URL, timeout: Duration = .seconds(2)) async -> String? {
    let result = LockedValue<String?>(nil)
    let task = Task {
        if let data = try? await AgentClient.get(url) { result.withLock { $0 = String(decoding: data, as: UTF8.self) } }
    }
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline, result.current == nil { try? await Task.sleep(for: .milliseconds(20)) }
    task.cancel()
    return result.current
}
