import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The receiving end of a `NOTIFY_SOCKET`, standing in for systemd's (systemd is not PID 1 on
/// these machines): a unix datagram socket bound to `path`. Each datagram comes with the time
/// the kernel queued it (`SO_TIMESTAMP`), which is when the sender's `sendto` ran: intervals
/// between datagrams are the sender's, however late the receiver reads them.
package final class NotifyListener: @unchecked Sendable {
    /// One `sd_notify` message.
    package struct Datagram: Sendable, Equatable {
        /// The message, e.g. `READY=1`, or several `KEY=VALUE` lines.
        package var text: String
        /// When the kernel queued it (wall clock).
        package var sent: Date

        /// Its `KEY=VALUE` lines.
        package var states: [String] { text.split(separator: "\n").map(String.init) }
    }

    package let path: String
    // The descriptor is read by one reader at a time; `close()` ends its use.
    private var fd: Int32

    package init(path: String) throws {
        self.path = path
        unlink(path)
        fd = socket(
            AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else {
            throw TestSetupError("cannot create a notify socket: \(String(cString: strerror(errno)))")
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let fits = path.utf8.count < MemoryLayout.size(ofValue: address.sun_path)
        if fits {
            withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        }
        let bound =
            fits
            && withUnsafePointer(to: &address) { [fd] in
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            } == 0
        var on: Int32 = 1
        let stamped = bound && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMP, &on, socklen_t(MemoryLayout<Int32>.size)) == 0
        guard stamped else {
            let reason = fits ? String(cString: strerror(errno)) : "path too long"
            Glibc.close(fd)
            unlink(path)
            throw TestSetupError("cannot bind the notify socket \(path): \(reason)")
        }
    }

    /// The next datagram, waiting at most `timeout` for one (zero: only one already queued).
    package func receive(timeout: Duration = .zero) -> Datagram? {
        guard fd >= 0 else { return nil }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        guard poll(&pfd, 1, Int32(clamping: milliseconds)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        // Room for one control message holding a `timeval`, aligned as `cmsghdr` wants.
        var control = [UInt64](repeating: 0, count: 8)
        let (count, controlLength): (Int, Int) = buffer.withUnsafeMutableBytes { data in
            control.withUnsafeMutableBytes { controlBytes in
                var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                    var message = msghdr()
                    message.msg_iov = vectorPointer
                    message.msg_iovlen = 1
                    message.msg_control = controlBytes.baseAddress
                    message.msg_controllen = controlBytes.count
                    let received = recvmsg(fd, &message, 0)
                    return (received, Int(message.msg_controllen))
                }
            }
        }
        guard count > 0 else { return nil }
        let sent = Self.timestamp(control, length: controlLength) ?? Date()
        return Datagram(text: String(decoding: buffer[0..<count], as: UTF8.self), sent: sent)
    }

    /// The time in an `SCM_TIMESTAMP` control message, if the kernel attached one.
    private static func timestamp(_ control: [UInt64], length: Int) -> Date? {
        control.withUnsafeBytes { raw -> Date? in
            let headerSize = MemoryLayout<cmsghdr>.size
            guard length >= headerSize + MemoryLayout<timeval>.size else { return nil }
            let header = raw.loadUnaligned(as: cmsghdr.self)
            guard header.cmsg_level == SOL_SOCKET, header.cmsg_type == SO_TIMESTAMP else { return nil }
            let time = raw.loadUnaligned(fromByteOffset: headerSize, as: timeval.self)
            return Date(timeIntervalSince1970: Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000)
        }
    }

    /// Waits until a datagram carrying `state` (one of its lines) arrives, reading and dropping
    /// the others; false after `timeout` without one.
    package func wait(for state: String, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let datagram = receive() {
                if datagram.states.contains(state) { return true }
            } else {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        return false
    }

    /// Closes the socket and removes its path.
    package func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        unlink(path)
    }

    deinit { close() }
}
