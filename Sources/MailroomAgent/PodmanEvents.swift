import Foundation
import MailroomHost
import MailroomSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Follows `podman events --format json` for containers and reports the ones that died or
/// were removed: the self-heal trigger. The child runs until `stop()`; its output is read on a
/// thread of its own, off the cooperative pool.
public final class PodmanEvents: Sendable {
    /// One container event of interest.
    public struct Event: Sendable, Equatable {
        public var name: String
        /// `died`, `remove`, `create`, ...
        public var status: String
        /// When podman says it happened (it reports events late, from its event log).
        public var time: Date?
        /// The container's id: a `died` and a `remove` of one container share it.
        public var id: String?

        public init(name: String, status: String, time: Date? = nil, id: String? = nil) {
            self.name = name
            self.status = status
            self.time = time
            self.id = id
        }
    }

    private let process: BackgroundProcess
    private let stopped = LockedValue(false)

    /// Starts following events; `onEvent` is called on the reader thread for every `died` or
    /// `remove` of a container.
    public init(podman: String, runner: ProcessRunner = ProcessRunner(), onEvent: @escaping @Sendable (Event) -> Void)
        throws
    {
        // podman drops every other event (health checks, exec, start...) itself, so they do not
        // wake the agent. Filters on one key are alternatives; on different keys, all must hold.
        let (process, fd) = try runner.startReading([
            podman, "events", "--format", "json", "--filter", "type=container",
            "--filter", "event=died", "--filter", "event=remove",
        ])
        self.process = process
        let thread = Thread {
            nameCurrentThread(Self.threadName)
            defer { close(fd) }
            var pending = Data()
            var buffer = [UInt8](repeating: 0, count: 16 * 1024)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { return }
                pending.append(contentsOf: buffer[0..<count])
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending[pending.startIndex..<newline]
                    pending.removeSubrange(pending.startIndex...newline)
                    if let event = Self.parse(Data(line)) { onEvent(event) }
                }
            }
        }
        thread.start()
    }

    /// The reader thread's name in `/proc/PID/task/*/comm` (15 bytes at most).
    static let threadName = "mailroom-events"

    /// Parses one JSON line; nil for events the agent does not act on.
    static func parse(_ line: Data) -> Event? {
        guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any],
            (object["Type"] as? String) == "container", let name = object["Name"] as? String,
            let status = object["Status"] as? String,
            ["died", "remove"].contains(status)
        else { return nil }
        return Event(
            name: name, status: status, time: (object["Time"] as? String).flatMap(InternetTime.date(from:)),
            id: object["ID"] as? String)
    }

    /// Ends the child; the reader thread ends at end of file.
    public func stop() {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        if first { process.stop() }
    }

    deinit { stop() }
}
