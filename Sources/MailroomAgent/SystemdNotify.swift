import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// sd_notify without libsystemd: one datagram to the unix socket named by `NOTIFY_SOCKET`
/// (`@name` is in the abstract namespace). Does nothing when the variable is unset.
public struct SystemdNotify: Sendable {
    public let socketPath: String?
    /// Half of `WATCHDOG_USEC`, the interval systemd asks for, or nil.
    public let watchdogInterval: Duration?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        if let usec = environment["WATCHDOG_USEC"].flatMap({ Int64($0) }), usec > 0,
            environment["WATCHDOG_PID"].flatMap({ Int32($0) }).map({ $0 == getpid() }) ?? true
        {
            watchdogInterval = .microseconds(usec / 2)
        } else {
            watchdogInterval = nil
        }
    }

    /// Reads the process environment, then removes `NOTIFY_SOCKET`, `WATCHDOG_USEC` and
    /// `WATCHDOG_PID` from it, as sd_notify's `unset_environment` does: children must not
    /// inherit them (podman passes `NOTIFY_SOCKET` on to conmon and then waits for the
    /// container to send READY=1, which a Mailu container never does: `podman run` hangs).
    public static func takeFromEnvironment() -> SystemdNotify {
        let notify = SystemdNotify()
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] { unsetenv(name) }
        return notify
    }

    /// Sends `state` (e.g. `READY=1`, `WATCHDOG=1`, `STOPPING=1`); false if it could not.
    @discardableResult
    public func send(_ state: String) -> Bool {
        #if canImport(Glibc)
            guard let socketPath else { return false }
            let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            var bytes = Array(socketPath.utf8)
            let abstract = bytes.first == UInt8(ascii: "@")
            if abstract { bytes[0] = 0 }
            let capacity = MemoryLayout.size(ofValue: address.sun_path)
            guard bytes.count < capacity else { return false }
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, b) in bytes.enumerated() { raw[i] = b }
            }
            let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
            let payload = Array(state.utf8)
            // Never block on a full notify queue; retry for up to 1 s (READY=1 must not be lost to a
            // moment of backlog), then give up: a dropped ping beats a stuck agent.
            for _ in 0..<100 {
                let sent = withUnsafePointer(to: &address) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                        sendto(fd, payload, payload.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT), sa, length)
                    }
                }
                if sent == payload.count { return true }
                guard sent < 0, errno == EAGAIN || errno == EWOULDBLOCK else { return false }
                usleep(10_000)
            }
            return false
        #else
            return false
        #endif
    }
}
