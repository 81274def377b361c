import Foundation
import MailroomHost
import MailroomSupport

/// The built `mailroom` executable, next to the running one: the test bundle (`swift test`
/// builds both) or `mailroom-bench`. Tests and the benchmark run it as people do.
package enum MailroomBinary {
    /// Its path; throws when it is not built next to this process's executable.
    package static var path: String {
        get throws { try builtExecutable(named: "mailroom") }
    }

    /// An executable of this package built next to the running one (or one directory up), as
    /// `mailroom` or `mailu-admin-fake`; throws when it is not there.
    package static func builtExecutable(named name: String) throws -> String {
        let running = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let directory = running.deletingLastPathComponent()
        for candidate in [directory, directory.deletingLastPathComponent()].map({
            $0.appendingPathComponent(name).path
        })
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw TestSetupError("the \(name) executable is not built next to \(directory.path); run swift build first")
    }

    /// `env` without the variables tests and benchmarks set process-wide while they run (a
    /// podman socket that goes away with its test, a notify socket): children started
    /// meanwhile would inherit them.
    package static let isolatedEnvironment = [
        "/usr/bin/env", "-u", "MAILROOM_PODMAN_SOCKET", "-u", "NOTIFY_SOCKET", "-u", "WATCHDOG_USEC", "-u",
        "WATCHDOG_PID",
    ]

    /// Runs the CLI in the isolated environment with `environment` added; `host` adds the
    /// deployment's `--state-dir`, `--units-dir` and `--secrets-file` (for the commands that plan or
    /// change the host), `state` only `--state-dir` (for the others).
    package static func run(
        _ arguments: [String], host: HostPaths? = nil, state: String? = nil, environment: [String: String] = [:]
    ) async throws -> ProcessResult {
        let hostFlags =
            host.map {
                ["--state-dir", $0.stateDirectory, "--units-dir", $0.unitsDirectory, "--secrets-file", $0.secretsFile]
            } ?? state.map { ["--state-dir", $0] } ?? []
        let assignments = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return try await ProcessRunner().run(isolatedEnvironment + assignments + [try path] + arguments + hostFlags)
    }
}

/// `mailroom agent --config` as a child process (signals, sd_notify), its stderr kept in a log file.
package struct ChildAgent: Sendable {
    package let pid: pid_t
    package let log: String

    /// Starts the agent through `env` (same pid), with `environment` added to an isolated one;
    /// `launcher` goes first (`nsenter …`: another host, see ``TestHosts``), and must exec too.
    package static func start(
        config: String, log: String, environment: [String: String] = [:], arguments: [String] = [],
        launcher: [String] = []
    ) throws -> ChildAgent {
        let assignments = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let child = try ProcessRunner().start(
            ["/bin/sh", "-c", "log=$1; shift; exec \"$@\" 2>\"$log\"", "sh", log] + launcher
                + MailroomBinary.isolatedEnvironment + assignments
                + [try MailroomBinary.path, "agent", "--config", config] + arguments)
        return ChildAgent(pid: child.pid, log: log)
    }

    package var logText: String { String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self) }

    /// Whether it still runs (an exited child is reaped here).
    package var stillRunning: Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    /// SIGTERM, then waits up to `timeout` for it to exit; its wait status, or nil if it still
    /// runs. The bound is for an agent that never exits: the default is far above any speed.
    package func terminate(timeout: Duration = .minutes(5)) async -> Int32? {
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
    package func kill9() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}
