import Foundation
import Logging
import Testing
@testable import MailroomAgent
@testable import MailroomHost
@testable import MailroomSupport
@testable import MailroomTestSupport

/// The agent's parts that need this machine: the unit file checked by systemd-analyze, the
/// control file on disk, the HTTP client against a socket, sd_notify datagrams, inotify and
/// the threads and processes the agent starts.
@Suite("Agent parts on this machine", .tags(.os))
struct AgentOSTests {
    @Test("contrib/mailroom.service passes systemd-analyze verify (Type=notify)")
    func unitFile() async throws {
        let unit = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../contrib/mailroom.service").path
        let text = try String(contentsOfFile: unit, encoding: .utf8)
        #expect(text.contains("Type=notify") && text.contains("WatchdogSec=") && text.contains("ExecReload=/bin/kill -HUP $MAINPID"))
        // Verify against the built binary: the installed path does not exist here.
        let directory = NSTemporaryDirectory() + "mailroom-unit-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try text.replacingOccurrences(of: "/usr/local/bin/mailroom", with: try MailroomBinary.path)
            .write(toFile: directory + "/mailroom.service", atomically: true, encoding: .utf8)
        let analyze = try #require(ProcessRunner.which("systemd-analyze"), "systemd-analyze is missing: apt-get install systemd")
        let result = try await ProcessRunner().run([analyze, "verify", directory + "/mailroom.service"])
        #expect(result.succeeded, "\(result.stderrText)")
    }

    @Test("control file: saved atomically, loaded back; absent means syncing")
    func control() throws {
        let directory = NSTemporaryDirectory() + "mailroom-control-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(AgentControl.load(stateDirectory: directory) == AgentControl())
        let pinned = AgentControl(pinnedCommit: "abc", branchTipAtPin: "def", reason: "test", since: Date(timeIntervalSince1970: 1000))
        try pinned.save(stateDirectory: directory)
        #expect(AgentControl.load(stateDirectory: directory) == pinned)
    }

    @Test("agent client: a listener that accepts and never answers fails within the timeout")
    func clientTimeout() async throws {
        // A listening socket nobody accepts on: the kernel completes the connection, no answer comes.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(bound && listen(fd, 4) == 0)
        let port = UInt16(bigEndian: address.sin_port)
        let began = ContinuousClock.now
        await #expect(throws: AgentError.self) {
            try await AgentClient.send(host: "127.0.0.1", port: port, method: "GET", path: "/status", timeout: .milliseconds(300))
        }
        #expect(ContinuousClock.now - began < .seconds(5))
    }

    @Test("sd_notify: READY=1 and WATCHDOG=1 arrive as datagrams on NOTIFY_SOCKET")
    func notify() throws {
        let listener = try NotifyListener(path: NSTemporaryDirectory() + "mr-notify-\(getpid()).sock")
        defer { listener.close() }
        let notify = SystemdNotify(environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "4000000"])
        #expect(notify.watchdogInterval == .seconds(2))
        #expect(notify.send("READY=1"))
        #expect(notify.send("WATCHDOG=1"))
        // `sendto` has queued both by now: a bound for a datagram that never comes, not a speed.
        let received = [listener.receive(timeout: .seconds(60)), listener.receive(timeout: .seconds(60))].map { $0?.text }
        #expect(received == ["READY=1", "WATCHDOG=1"])
        #expect(!SystemdNotify(environment: [:]).send("READY=1"))
        #expect(SystemdNotify(environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "1", "WATCHDOG_PID": "1"]).watchdogInterval == nil)
    }

    @Test("directory watch: recursive, new subdirectories, debounced into one batch, state dir excluded")
    func directoryWatch() async throws {
        let root = NSTemporaryDirectory() + "mailroom-watch-\(getpid())"
        try? FileManager.default.removeItem(atPath: root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/overrides/postfix", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/state", withIntermediateDirectories: true)
        let batches = LockedValue<[[String]]>([])
        let firstBatchAt = LockedValue<ContinuousClock.Instant?>(nil)
        let watch = try DirectoryWatch(directories: [root, root + "/overrides"], excluding: [root + "/state"], debounce: .milliseconds(200)) { paths in
            firstBatchAt.withLock { $0 = $0 ?? .now }
            batches.withLock { $0.append(paths) }
        }
        defer { watch.stop() }
        #expect(watch.roots == [root])

        // Three writes back to back: one batch, not before the debounce has passed since the
        // last write (a lower bound, so a loaded machine cannot make it flaky).
        for i in 0..<3 {
            try "x\(i)".write(toFile: root + "/overrides/postfix/main.cf", atomically: false, encoding: .utf8)
        }
        let lastWrite = ContinuousClock.now
        try await waitFor { batches.current.count == 1 }
        #expect(try #require(firstBatchAt.current) - lastWrite >= .milliseconds(190))
        #expect(batches.current.first?.contains(root + "/overrides/postfix/main.cf") == true)

        // A new subdirectory is watched, and a file in it seen.
        try FileManager.default.createDirectory(atPath: root + "/overrides/dovecot", withIntermediateDirectories: true)
        try await waitFor { batches.current.count == 2 }
        try "y".write(toFile: root + "/overrides/dovecot/extra.conf", atomically: false, encoding: .utf8)
        try await waitFor { batches.current.count == 3 }
        #expect(batches.current.last == [root + "/overrides/dovecot/extra.conf"])

        // The state directory is not watched.
        try "j".write(toFile: root + "/state/journal.jsonl", atomically: false, encoding: .utf8)
        try await Task.sleep(for: .milliseconds(400))
        #expect(batches.current.count == 3)
    }

    @Test("directory watch: its thread is named in /proc, for strace and the idle benchmark")
    func watchThreadName() async throws {
        let root = NSTemporaryDirectory() + "mailroom-watch-name-\(getpid())"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let watch = try DirectoryWatch(directories: [root], debounce: .milliseconds(50)) { _ in }
        defer { watch.stop() }
        try await waitFor("a mailroom-files thread") {
            let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
            return tasks.contains { (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8)) == "mailroom-files\n" }
        }
    }

    @Test("podman events: podman filters to died and remove, so other events never wake the agent")
    func podmanEventFilters() throws {
        let seen = LockedValue<[[String]]>([])
        let events = try PodmanEvents(podman: "/bin/true", runner: ProcessRunner { arguments in seen.withLock { $0.append(arguments) } }) { _ in }
        events.stop()
        let arguments = try #require(seen.current.first)
        #expect(Array(arguments.dropFirst()) == ["events", "--format", "json", "--filter", "type=container",
                                                 "--filter", "event=died", "--filter", "event=remove"])
        #expect(PodmanEvents.threadName.utf8.count <= 15)
    }
}
