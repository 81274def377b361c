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
        let temporary = temporaryPath(for: path)
        try writeTemporary(data, at: temporary, replacing: path, mode: mode, sync: true)
        do { try FaultInjection.point("file.rename") } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw FileWriteError(path: path, operation: "rename")
        }
        try FaultInjection.point("file.renamed")
        syncDirectory(directory)
    }

    /// Writes a file that must not exist yet: `link` instead of `rename`, so an existing file is
    /// never replaced (a key made by hand, or by a concurrent run, wins). Returns `false` if
    /// the file was already there.
    public static func create(_ data: Data, at path: String, mode: Int) throws -> Bool {
        let directory = (path as NSString).deletingLastPathComponent
        try makeDirectory(directory)
        let temporary = temporaryPath(for: path)
        try writeTemporary(data, at: temporary, replacing: path, mode: mode, sync: true)
        defer { unlink(temporary) }
        guard link(temporary, path) == 0 else {
            if errno == EEXIST { return false }
            throw FileWriteError(path: path, operation: "link")
        }
        syncDirectory(directory)
        return true
    }

    /// A file to write with ``write(_:)``.
    public struct Item: Sendable {
        public var path: String
        public var data: Data
        public var mode: Int

        public init(path: String, content: String, mode: Int) {
            self.path = path
            self.data = Data(content.utf8)
            self.mode = mode
        }
    }

    /// Writes many files with the same guarantee as one, at the cost of one sync instead of one
    /// per file: every temporary is written, then the file systems are synced once, then every
    /// temporary is renamed over its file and each directory synced once. After a crash at any
    /// point, every file holds its old content or its new one. Throws before the first rename
    /// if any temporary cannot be written (nothing is replaced then).
    public static func write(_ items: [Item]) throws {
        let batch = try Batch(items)
        defer { batch.finish() }
        for index in items.indices { try batch.commit(index) }
    }

    /// A batch write in two halves, for callers that record each file as its own step (apply):
    /// `init` writes and syncs every temporary, `commit(_:)` renames one file into place,
    /// `finish()` syncs the directories and removes the temporaries not committed.
    public final class Batch: @unchecked Sendable {
        // Used by one caller at a time, in order: init, commits, finish.
        private var temporaries: [String?]
        private let paths: [String]

        public init(_ items: [Item]) throws {
            paths = items.map(\.path)
            temporaries = []
            var devices: [UInt64: String] = [:]
            do {
                for item in items {
                    let directory = (item.path as NSString).deletingLastPathComponent
                    try makeDirectory(directory)
                    let temporary = temporaryPath(for: item.path)
                    try writeTemporary(item.data, at: temporary, replacing: item.path, mode: item.mode, sync: false)
                    temporaries.append(temporary)
                    var info = stat()
                    if stat(directory, &info) == 0, devices[UInt64(info.st_dev)] == nil {
                        devices[UInt64(info.st_dev)] = directory
                    }
                }
                // One sync per file system makes every temporary's content durable before any rename.
                for directory in devices.values {
                    let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                    defer { if fd >= 0 { close(fd) } }
                    guard fd >= 0, syncFileSystem(fd) == 0 else {
                        throw FileWriteError(path: directory, operation: "syncfs")
                    }
                }
            } catch {
                finish()
                throw error
            }
        }

        /// Renames the `index`-th file into place.
        public func commit(_ index: Int) throws {
            guard let temporary = temporaries[index] else { return }
            try FaultInjection.point("file.rename")
            guard rename(temporary, paths[index]) == 0 else {
                throw FileWriteError(path: paths[index], operation: "rename")
            }
            temporaries[index] = nil
            try FaultInjection.point("file.renamed")
        }

        /// Makes the renames durable and removes what was not committed.
        public func finish() {
            for temporary in temporaries.compactMap({ $0 }) { unlink(temporary) }
            var directories: [String] = []
            for (index, path) in paths.enumerated() where index < temporaries.count && temporaries[index] == nil {
                let directory = (path as NSString).deletingLastPathComponent
                if !directories.contains(directory) { directories.append(directory) }
            }
            for directory in directories { syncDirectory(directory) }
            temporaries = temporaries.map { _ in nil }
        }
    }

    /// `syncfs(2)`, which the Glibc module does not import (it is a GNU extension): looked up
    /// once; `sync(2)` where it is missing.
    private static let syncfsFunction: (@convention(c) (Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syncfs") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
    }()

    static func syncFileSystem(_ fd: Int32) -> Int32 {
        guard let syncfs = syncfsFunction else {
            sync()
            return 0
        }
        return syncfs(fd)
    }

    /// Whether a file name is one of ``temporaryPath(for:)``'s: `.<name>.mailroom-<pid>-<n>` or `.mailroom-<pid>-<n>`.
    package static func isTemporaryName(_ name: String) -> Bool { temporaryOwner(name) != nil }

    /// `.<name>.mailroom-<pid>-<random>` beside the file, or `.mailroom-<pid>-<random>` when the
    /// name is so long that the temporary would pass the 255 bytes a file name may have.
    static func temporaryPath(for path: String) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let suffix = "mailroom-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let temporary = name.utf8.count + suffix.utf8.count + 2 <= 255 ? ".\(name).\(suffix)" : ".\(suffix)"
        return "\(directory)/\(temporary)"
    }

    /// Removes the temporaries that a process killed mid-write left in `directories`: regular
    /// files named as ``temporaryPath(for:)`` names them whose pid is no longer running (a live
    /// process, this one included, may be writing them). Nothing else is touched: not other
    /// names, not directories, not symbolic links, not subdirectories. Returns the paths removed.
    @discardableResult
    public static func removeStaleTemporaries(in directories: some Sequence<String>) -> [String] {
        var removed: [String] = []
        for directory in Set(directories) {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for name in names {
                guard let pid = temporaryOwner(name), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else {
                    continue
                }
                let path = "\(directory.trimmingTrailingSlash)/\(name)"
                var info = stat()
                guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, unlink(path) == 0 else { continue }
                removed.append(path)
            }
            if removed.contains(where: { $0.hasPrefix(directory.trimmingTrailingSlash + "/") }) {
                syncDirectory(directory)
            }
        }
        return removed.sorted()
    }

    /// The pid in a temporary's name (`.<name>.mailroom-<pid>-<n>` or `.mailroom-<pid>-<n>`),
    /// or nil for any other name.
    static func temporaryOwner(_ name: String) -> pid_t? {
        guard name.hasPrefix("."), let range = name.range(of: "mailroom-", options: .backwards) else { return nil }
        let before = name[..<range.lowerBound]
        guard before == "." || (before.count > 2 && before.hasSuffix(".")) else { return nil }
        let numbers = name[range.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
        guard numbers.count == 2,
            numbers.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            UInt32(numbers[1]) != nil, let pid = pid_t(numbers[0]), pid > 0
        else { return nil }
        return pid
    }

    /// Writes `data` to a new temporary file with the mode (and the owner of `path`, if it exists).
    static func writeTemporary(_ data: Data, at temporary: String, replacing path: String, mode: Int, sync: Bool) throws
    {
        var existing = stat()
        let replacing = stat(path, &existing) == 0
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileWriteError(path: path, operation: "create \(temporary)") }
        defer { close(fd) }
        do {
            guard writeAll(fd, data) else { throw FileWriteError(path: path, operation: "write") }
            if replacing, fchown(fd, existing.st_uid, existing.st_gid) != 0 {
                throw FileWriteError(path: path, operation: "chown")
            }
            guard fchmod(fd, mode_t(mode)) == 0 else { throw FileWriteError(path: path, operation: "chmod") }
            if sync { guard fsync(fd) == 0 else { throw FileWriteError(path: path, operation: "fsync") } }
        } catch {
            unlink(temporary)
            throw error
        }
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
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
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
