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
        let unit = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../../contrib/mailroom.service"
        ).path
        let text = try String(contentsOfFile: unit, encoding: .utf8)
        #expect(
            text.contains("Type=notify") && text.contains("WatchdogSec=")
                && text.contains("ExecReload=/bin/kill -HUP $MAINPID"))
        // Verify against the built binary: the installed path does not exist here.
        let directory = NSTemporaryDirectory() + "mailroom-unit-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try text.replacingOccurrences(of: "/usr/local/bin/mailroom", with: try MailroomBinary.path)
            .write(toFile: directory + "/mailroom.service", atomically: true, encoding: .utf8)
        let analyze = try #require(
            ProcessRunner.which("systemd-analyze"), "systemd-analyze is missing: apt-get install systemd")
        let result = try await ProcessRunner().run([analyze, "verify", directory + "/mailroom.service"])
        #expect(result.succeeded, "\(result.stderrText)")
    }

    @Test("control file: saved atomically, loaded back; absent means syncing")
    func control() throws {
        let directory = NSTemporaryDirectory() + "mailroom-control-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(AgentControl.load(stateDirectory: directory) == AgentControl())
        let pinned = AgentControl(
            pinnedCommit: "abc", branchTipAtPin: "def", reason: "test", since: Date(timeIntervalSince1970: 1000))
        try pinned.save(stateDirectory: directory)
        #expect(AgentControl.load(stateDirectory: directory) == pinned)
    }

    /// What is asserted is why it failed (the timeout, not a refused connection) and that it
    /// did not fail early; the time limit is for a client that never gives up, not a speed.
    @Test(
        "agent client: a listener that accepts and never answers fails with the timeout's error",
        .timeLimit(.minutes(2)))
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
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        try #require(bound && listen(fd, 4) == 0)
        let port = UInt16(bigEndian: address.sin_port)
        let began = ContinuousClock.now
        let error = await #expect(throws: AgentError.self) {
            try await AgentClient.send(
                host: "127.0.0.1", port: port, method: "GET", path: "/status", timeout: .milliseconds(300))
        }
        #expect(
            error?.description.hasPrefix("no answer from 127.0.0.1:\(port) within") == true,
            "\(String(describing: error))")
        #expect(ContinuousClock.now - began >= .milliseconds(300))
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
        let received = [listener.receive(timeout: .seconds(60)), listener.receive(timeout: .seconds(60))].map {
            $0?.text
        }
        #expect(received == ["READY=1", "WATCHDOG=1"])
        #expect(!SystemdNotify(environment: [:]).send("READY=1"))
        #expect(
            SystemdNotify(environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "1", "WATCHDOG_PID": "1"])
                .watchdogInterval == nil)
    }

    @Test("directory watch: recursive, new subdirectories, debounced into one batch, state dir excluded")
    func directoryWatch() async throws {
        let root = NSTemporaryDirectory() + "mailroom-watch-\(getpid())"
        try? FileManager.default.removeItem(atPath: root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/overrides/postfix", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/state", withIntermediateDirectories: true)
        let debounce = Duration.milliseconds(500)
        let batches = LockedValue<[(at: ContinuousClock.Instant, paths: [String])]>([])
        let watch = try DirectoryWatch(
            directories: [root, root + "/overrides"], excluding: [root + "/state"], debounce: debounce
        ) { paths in
            batches.withLock { $0.append((.now, paths)) }
        }
        defer { watch.stop() }
        #expect(watch.roots == [root])
        /// The first batch after index `from` that names `path`, once there is one.
        func batch(naming path: String, after from: Int = 0) async throws -> (
            at: ContinuousClock.Instant, paths: [String]
        ) {
            try await waitFor("a batch naming \(path)") {
                batches.current.dropFirst(from).contains { $0.paths.contains(path) }
            }
            return try #require(batches.current.dropFirst(from).first { $0.paths.contains(path) })
        }

        // Step 1: three writes in quick succession are one batch, delivered no sooner than the
        // debounce after the last write began. "Quick succession" is the scheduler's to give:
        // a try whose writes were not all done within one debounce proves nothing either way
        // (two batches would be right), so it is repeated with a file of its own.
        var proven = false
        for attempt in 1...10 where !proven {
            let file = root + "/overrides/postfix/main-\(attempt).cf"
            let first = ContinuousClock.now
            var lastBegan = first
            for i in 0..<3 {
                lastBegan = .now
                try "x\(i)".write(toFile: file, atomically: false, encoding: .utf8)
            }
            let done = ContinuousClock.now
            let seen = try await batch(naming: file)
            guard done - first < debounce else { continue }
            #expect(
                seen.at - lastBegan >= debounce,
                "a batch \(seen.at - lastBegan) after the last write; the debounce is \(debounce)")
            // Every event of these writes was queued before the first batch could be due: no second one.
            try await Task.sleep(for: debounce * 3)
            #expect(batches.current.filter { $0.paths.contains(file) }.count == 1, "\(batches.current.map(\.paths))")
            proven = true
        }
        #expect(proven, "no try wrote three small files within \(debounce)")

        // Step 2: a new subdirectory is watched, and a file in it seen in a batch of its own.
        var before = batches.current.count
        try FileManager.default.createDirectory(atPath: root + "/overrides/dovecot", withIntermediateDirectories: true)
        try await waitFor("the new directory's batch") { batches.current.count > before }
        before = batches.current.count
        try "y".write(toFile: root + "/overrides/dovecot/extra.conf", atomically: false, encoding: .utf8)
        #expect(
            try await batch(naming: root + "/overrides/dovecot/extra.conf", after: before).paths == [
                root + "/overrides/dovecot/extra.conf"
            ])

        // Step 3: the state directory is not watched. One inotify queue, in order: a write in a
        // watched directory after it is reported only after anything the state write caused.
        try "j".write(toFile: root + "/state/journal.jsonl", atomically: false, encoding: .utf8)
        try "z".write(toFile: root + "/overrides/postfix/after-state.cf", atomically: false, encoding: .utf8)
        _ = try await batch(naming: root + "/overrides/postfix/after-state.cf")
        #expect(
            !batches.current.contains { $0.paths.contains { $0.hasPrefix(root + "/state") } },
            "\(batches.current.map(\.paths))")
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
            return tasks.contains {
                (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8)) == "mailroom-files\n"
            }
        }
    }

    @Test("podman events: podman filters to died and remove, so other events never wake the agent")
    func podmanEventFilters() throws {
        let seen = LockedValue<[[String]]>([])
        let events = try PodmanEvents(
            podman: "/bin/true", runner: ProcessRunner { arguments in seen.withLock { $0.append(arguments) } }
        ) { _ in }
        events.stop()
        let arguments = try #require(seen.current.first)
        #expect(
            Array(arguments.dropFirst()) == [
                "events", "--format", "json", "--filter", "type=container",
                "--filter", "event=died", "--filter", "event=remove",
            ])
        #expect(PodmanEvents.threadName.utf8.count <= 15)
    }
}
