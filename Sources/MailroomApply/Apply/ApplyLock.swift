import Foundation
import MailroomSupport

/// One Mailroom applying per host: an exclusive `flock` on `<stateDir>/apply.lock`, held
/// until released or until the process ends (the kernel drops it even after SIGKILL, so a
/// crash never leaves a stale lock). The file holds the holder's pid, for the error message.
public final class ApplyLock: @unchecked Sendable {
    public let path: String
    private var fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { release() }

    public static func path(in stateDirectory: String) -> String { StateDirectory(stateDirectory).applyLock }

    /// Takes the lock, or throws `ApplyError` (`.locked`) naming the process that holds it.
    public static func acquire(stateDirectory: String) throws -> ApplyLock {
        try AtomicFile.makeDirectory(stateDirectory)
        let path = path(in: stateDirectory)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileWriteError(path: path, operation: "open") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = readPID(fd)
            close(fd)
            throw ApplyError.locked(path: path, holder: holder)
        }
        let pid = Data("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, [UInt8](pid), pid.count, 0)
        return ApplyLock(path: path, fd: fd)
    }

    /// Whether another process holds the lock now (a rollout is under way).
    public static func isHeld(stateDirectory: String) -> Bool {
        let fd = open(path(in: stateDirectory), O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return true
    }

    public func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
