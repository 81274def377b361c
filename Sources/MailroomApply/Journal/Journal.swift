import Foundation
import MailroomSupport

/// The rollout journal: `<stateDir>/journal.jsonl`, JSON Lines, append-only, one `fsync` per
/// record. Rotated by size (`journal.jsonl.1`, `.2`, …) only before a rollout's first record,
/// so a rollout never spans two files and the current one is never rotated away.
///
/// A crash while a record is written leaves a torn last line. Reading reports it and goes on;
/// the next append starts on a fresh line, so the torn bytes stay alone on theirs.
public final class Journal: @unchecked Sendable {
    public let stateDirectory: String
    /// Size past which the next rollout starts a new file.
    public let maxBytes: Int
    /// Files kept in all, the current one included.
    public let keep: Int

    private let lock = NSLock()
    private var fd: Int32 = -1
    /// Problems seen when the file was opened for appending (a torn last line).
    private var openProblems: [JournalProblem] = []

    public init(stateDirectory: String, maxBytes: Int = 4 << 20, keep: Int = 4) {
        self.stateDirectory = stateDirectory.trimmingTrailingSlash
        self.maxBytes = maxBytes
        self.keep = max(1, keep)
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    public var path: String { Self.path(in: stateDirectory) }

    public static func path(in stateDirectory: String, generation: Int = 0) -> String {
        StateDirectory(stateDirectory).journal(generation: generation)
    }

    /// Appends one record and makes it durable before returning.
    public func append(_ record: JournalRecord) throws {
        var line = try JournalCoding.encoder().encode(record)
        line.append(UInt8(ascii: "\n"))
        try lock.withLock {
            try FaultInjection.point("journal.append")
            try openForAppend()
            guard writeAll(fd, line), fsync(fd) == 0 else { throw FileWriteError(path: path, operation: "append") }
        }
    }

    /// A torn last line found when the journal was opened for appending, if any.
    public var problemsSeenOnOpen: [JournalProblem] { lock.withLock { openProblems } }

    /// Moves the current file aside when it is over `maxBytes`, dropping the oldest beyond `keep`.
    public func rotateIfNeeded() throws {
        try lock.withLock {
            var info = stat()
            guard stat(path, &info) == 0, Int(info.st_size) > maxBytes else { return }
            if fd >= 0 {
                close(fd)
                fd = -1
            }
            unlink(Self.path(in: stateDirectory, generation: keep - 1))
            if keep > 1 {
                for generation in stride(from: keep - 2, through: 0, by: -1) {
                    let from = Self.path(in: stateDirectory, generation: generation)
                    if access(from, F_OK) == 0,
                        rename(from, Self.path(in: stateDirectory, generation: generation + 1)) != 0
                    {
                        throw FileWriteError(path: from, operation: "rotate")
                    }
                }
            }
            AtomicFile.syncDirectory(stateDirectory)
        }
    }

    private func openForAppend() throws {
        guard fd < 0 else { return }
        try AtomicFile.makeDirectory(stateDirectory)
        let created = access(path, F_OK) != 0
        fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileWriteError(path: path, operation: "open") }
        if created {
            AtomicFile.syncDirectory(stateDirectory)
            return
        }
        // A last line without its newline is a record torn by a crash: keep it, but alone.
        let size = lseek(fd, 0, SEEK_END)
        var last: UInt8 = 0
        if size > 0, pread(fd, &last, 1, size - 1) == 1, last != UInt8(ascii: "\n") {
            openProblems.append(
                JournalProblem(
                    file: path, line: Self.lineCount(fd: fd), kind: .torn,
                    detail: "the last record has no end (a crash while it was written); it is ignored"))
            guard writeAll(fd, Data([UInt8(ascii: "\n")])) else {
                throw FileWriteError(path: path, operation: "append")
            }
        }
    }

    private static func lineCount(fd: Int32) -> Int {
        var count = 1
        var buffer = [UInt8](repeating: 0, count: 65536)
        var offset: off_t = 0
        while true {
            let n = pread(fd, &buffer, buffer.count, offset)
            guard n > 0 else { break }
            count += buffer[0..<n].reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
            offset += off_t(n)
        }
        return count
    }

    /// The rollout that started and never ended, if the last one did not: it was interrupted
    /// (or is running in a process that holds the lock).
    public static func unfinishedRollout(stateDirectory: String) -> String? {
        incompleteRollout(stateDirectory: stateDirectory).flatMap { $0.crashed ? $0.id : nil }
    }

    /// The last rollout, if it ended `interrupted` (stopped after a step by SIGTERM or a newer
    /// commit): its health waits, reloads and applied commit may still be owed.
    public static func stoppedRollout(stateDirectory: String) -> String? {
        incompleteRollout(stateDirectory: stateDirectory).flatMap { $0.crashed ? nil : $0.id }
    }

    /// The last rollout, if it did not complete: `crashed` when it has no end record (see
    /// ``unfinishedRollout(stateDirectory:)``), else it ended `interrupted`. One read for both.
    public static func incompleteRollout(stateDirectory: String) -> (id: String, crashed: Bool)? {
        guard let last = lastBoundary(stateDirectory: stateDirectory) else { return nil }
        switch (last.type, last.status) {
        case (.start, _): return (last.rollout, true)
        case (.end, .interrupted?): return (last.rollout, false)
        default: return nil
        }
    }

    /// The last `start` or `end` record of the current file. Reads only the end of the file,
    /// backwards, so it costs microseconds.
    private static func lastBoundary(stateDirectory: String) -> JournalRecord? {
        let fd = open(path(in: stateDirectory), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let size = lseek(fd, 0, SEEK_END)
        var window: off_t = 64 << 10
        while true {
            let start = max(0, size - window)
            var buffer = [UInt8](repeating: 0, count: Int(size - start))
            guard pread(fd, &buffer, buffer.count, start) == buffer.count else { return nil }
            var lines = buffer.split(separator: UInt8(ascii: "\n"))
            if start > 0, !lines.isEmpty { lines.removeFirst() }  // cut mid-line
            for line in lines.reversed() {
                let text = String(decoding: line, as: UTF8.self)
                // Keys are sorted and strings escaped, so these only match a record's own type.
                if text.contains(#""type":"end""#) || text.contains(#""type":"start""#) {
                    return try? JournalCoding.decoder().decode(JournalRecord.self, from: Data(line))
                }
            }
            if start == 0 { return nil }
            window *= 4
        }
    }

    /// Every record of the kept files, oldest first, and the lines that could not be read.
    public static func read(stateDirectory: String, keep: Int = 16) -> JournalContents {
        var contents = JournalContents(records: [], problems: [])
        let decoder = JournalCoding.decoder()
        for generation in stride(from: keep - 1, through: 0, by: -1) {
            let file = path(in: stateDirectory, generation: generation)
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            let endsWithNewline = data.last == UInt8(ascii: "\n")
            let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            for (index, line) in lines.enumerated() where !line.isEmpty {
                if let record = try? decoder.decode(JournalRecord.self, from: Data(line)) {
                    contents.records.append(record)
                } else {
                    let isLast = index == lines.count - 1 && !endsWithNewline
                    contents.problems.append(
                        JournalProblem(
                            file: file, line: index + 1, kind: isLast ? .torn : .unreadable,
                            detail: isLast
                                ? "the last record has no end (a crash while it was written); it is ignored"
                                : "this record cannot be read (\(line.count) bytes, probably torn by an earlier crash); it is ignored"
                        ))
                }
            }
        }
        return contents
    }
}

public struct JournalContents: Sendable {
    public var records: [JournalRecord]
    public var problems: [JournalProblem]
}

/// A journal line that could not be read. Reported, never fatal.
public struct JournalProblem: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable { case torn, unreadable }
    public var file: String
    public var line: Int
    public var kind: Kind
    public var detail: String

    public var description: String { "\(file):\(line): \(detail)" }
}
