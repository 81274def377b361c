import Foundation
import Testing

@testable import MailroomHost
@testable import MailroomSupport
@testable import MailroomTestSupport

/// The children Mailroom starts: podman calls in a process group of their own (a terminal's
/// Ctrl-C must not cut a `podman container run` in half), long-lived children that die with
/// Mailroom (a SIGKILLed agent must not leave its `podman events` behind).
@Suite("Child processes", .tags(.os))
struct ChildProcessTests {
    /// The process group of `pid`: field 5 of /proc/PID/stat (after the parenthesised name).
    static func processGroup(_ stat: String) -> pid_t? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 2 ? pid_t(fields[2]) : nil
    }

    /// Whether `pid` is gone: no such process, or a zombie nobody reaps (its code no longer runs).
    static func isGone(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
    }

    @Test("a podman call runs in a process group of its own, not in ours")
    func ownProcessGroup() async throws {
        let result = try await ProcessRunner().run(["/bin/cat", "/proc/self/stat"])
        let group = try #require(Self.processGroup(result.stdoutText), "\(result.stdoutText)")
        #expect(group != getpgrp())
        // It leads it: the group is the child's own pid.
        #expect(result.stdoutText.hasPrefix("\(group) "))
    }

    @Test("a long-lived child: its own process group, and it outlives the thread that started it")
    func tiedChild() async throws {
        let fifo = NSTemporaryDirectory() + "mailroom-tied-\(getpid())"
        unlink(fifo)
        try #require(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        // Started from a thread that then ends: the parent-death signal follows the thread that
        // forked, so a fork on a passing thread would kill the child at once.
        let started = LockedValue<Result<(BackgroundProcess, Int32, pid_t), any Error>?>(nil)
        let thread = Thread {
            started.withLock { value in
                value = Result {
                    let (process, fd) = try ProcessRunner().startReading([
                        "/bin/sh", "-c", "read line < \"$1\"; echo \"$line\"; cat /proc/self/stat", "sh", fifo,
                    ])
                    return (process, fd, Self.threadID())
                }
            }
        }
        thread.start()
        try await waitFor("the starting thread") { started.current != nil }
        let (process, fd, tid) = try started.current!.get()
        defer { close(fd) }
        try await waitFor("the starting thread to end", timeout: .minutes(1)) {
            !FileManager.default.fileExists(atPath: "/proc/self/task/\(tid)")
        }
        // Only now may it go on: a SIGKILL sent when the thread ended would have stopped it before.
        let writer = open(fifo, O_RDWR)
        try #require(writer >= 0)
        defer { close(writer) }
        _ = "alive\n".withCString { write(writer, $0, 6) }
        var output = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            output.append(contentsOf: buffer[0..<n])
        }
        process.stop()
        let lines = String(decoding: output, as: UTF8.self).split(separator: "\n")
        #expect(lines.first == "alive", "the child did not survive its starting thread: \(lines)")
        let group = lines.dropFirst().first.flatMap { Self.processGroup(String($0)) }
        #expect(group != nil && group != getpgrp())
    }

    @Test(
        "a SIGKILLed agent leaves no child behind: its podman events dies with it",
        .tags(.podman, .git))
    func agentChildrenDieWithIt() async throws {
        let deployment = try await TestDeployment.make("agent-kill")
        let repo = try ScratchRepository(files: ["mailroom.yaml": deployment.standInSpec()])
        let notify = try NotifyListener(path: deployment.root + "/notify.sock")
        // A dry run: nothing to deploy, the agent only needs to be up with its event stream.
        let config = try deployment.writeAgentConfig(
            repository: repo.origin, port: deployment.portBase + 5,
            ["poll_interval: 10m", "resync_interval: 1h", "dry_run: true"])
        // Real podman for everything but `events`, whose stand-in is a `sleep` that nothing but a
        // signal ends: the real one also ends when it writes an event (any container on this
        // machine) after the agent is gone, which would pass this test without the fix.
        let bin = deployment.root + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let podman = try #require(ProcessRunner.which("podman"))
        try """
        #!/bin/sh
        if [ "$1" = events ]; then exec sleep 86400; fi
        exec \(podman) "$@"
        """.write(toFile: bin + "/podman", atomically: true, encoding: .utf8)
        chmod(bin + "/podman", 0o755)
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let agent = try ChildAgent.start(
            config: config, log: deployment.root + "/agent.log",
            environment: ["NOTIFY_SOCKET": notify.path, "PATH": bin + ":" + path])
        defer {
            agent.kill9()
            notify.close()
            repo.remove()
        }
        let ready = await notify.wait(for: "READY=1", timeout: .minutes(5))
        try #require(ready, "no READY=1; log:\n\(agent.logText.suffix(3000))")
        let events = try #require(
            Self.children(of: agent.pid).first { Self.commandLine($0).hasPrefix("sleep 86400") },
            "no (stand-in) podman events child; children: \(Self.children(of: agent.pid).map(Self.commandLine))")
        agent.kill9()
        try await waitFor("podman events (pid \(events)) to end after the agent was killed", timeout: .minutes(1)) {
            Self.isGone(events)
        }
        await deployment.cleanup()
    }

    /// This thread's id, from /proc/thread-self (gettid is not imported).
    static func threadID() -> pid_t {
        let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
        return pid_t(link.split(separator: "/").last ?? "") ?? 0
    }

    static func children(of pid: pid_t) -> [pid_t] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap {
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/children", encoding: .utf8)) ?? "")
                .split(separator: " ").compactMap { pid_t($0) }
        }
    }

    static func commandLine(_ pid: pid_t) -> String {
        let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
        return String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }
}
