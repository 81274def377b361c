import Foundation

/// Writes files so that a reader (or a crash) sees the old content or the new, never half:
/// a temporary file in the same directory, `fsync`, `rename`, then `fsync` of the directory.
///
/// Ownership: a new file belongs to the user Mailroom runs as (root on a real host); a file
/// that is replaced keeps its owner and group, so a `chown` made on the host survives.
/// Note that a single-file bind mount keeps showing the old file after a rename: containers
/// that mount a generated file hash its content and are recreated when it changes.
public enum AtomicFile {
    public static func write(_ content: String, to path: String, mode: Int) throws {
        try write(Data(content.utf8), to: path, mode: mode)
    }

    public static func write(_ data: Data, to path: String, mode: Int) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try makeDirectory(directory)
        var existing = stat()
        let replacing = stat(path, &existing) == 0
        let temporary = "\(directory)/.\((path as NSString).lastPathComponent).mailroom-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileWriteError(path: path, operation: "create \(temporary)") }
        var ok = false
        defer {
            if !ok { unlink(temporary) }
        }
        do {
            defer { close(fd) }
            guard writeAll(fd, data) else { throw FileWriteError(path: path, operation: "write") }
            if replacing, fchown(fd, existing.st_uid, existing.st_gid) != 0 { throw FileWriteError(path: path, operation: "chown") }
            guard fchmod(fd, mode_t(mode)) == 0 else { throw FileWriteError(path: path, operation: "chmod") }
            guard fsync(fd) == 0 else { throw FileWriteError(path: path, operation: "fsync") }
        }
        guard rename(temporary, path) == 0 else { throw FileWriteError(path: path, operation: "rename") }
        ok = true
        syncDirectory(directory)
    }

    /// Removes a file and makes the removal durable; a file already gone is fine.
    public static func remove(_ path: String) throws {
        if unlink(path) != 0, errno != ENOENT { throw FileWriteError(path: path, operation: "remove") }
        syncDirectory((path as NSString).deletingLastPathComponent)
    }

    /// `mkdir -p` with mode 0755 for what it creates; existing directories are left as they are.
    public static func makeDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        } catch {
            throw FileWriteError(path: path, operation: "create directory", reason: "\(error)")
        }
    }

    package static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}

/// Writes all of `data` to `fd`, retrying short writes and interruptions.
package func writeAll(_ fd: Int32, _ data: Data) -> Bool {
    data.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }
}

/// A file Mailroom could not write.
public struct FileWriteError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var reason: String

    package init(path: String, operation: String, reason: String? = nil) {
        self.path = path
        self.operation = operation
        self.reason = reason ?? String(cString: strerror(errno))
    }

    public var description: String { "cannot write \(path): \(operation) failed: \(reason)" }
}
