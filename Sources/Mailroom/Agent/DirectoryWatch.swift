import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Watches directory trees recursively with inotify (new subdirectories included), and single
/// files through their directory, and reports changes once they have settled for `debounce`:
/// the agent's override and generated-file trigger.
///
/// A file's directory is watched without recursion and only events for that file count, so
/// data directories beside generated files (mail, queues) cause no wake-ups.
/// `poll()`/`read()` block, so the watch runs on a thread of its own; `onChange` is called on
/// that thread with the changed paths of one settled batch. Paths under `excluding` are not watched.
public final class DirectoryWatch: Sendable {
    private let stopWrite: Int32
    private let stopped = LockedValue(false)
    /// The directories watched at start (those that exist).
    public let roots: [String]

    public init(directories: [String], files: [String] = [], excluding: [String] = [], debounce: Duration,
                onChange: @escaping @Sendable ([String]) -> Void) throws {
        #if canImport(Glibc)
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw AgentError("cannot start inotify: \(String(cString: strerror(errno)))") }
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else {
            close(fd)
            throw AgentError("cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        for end in pipeFDs {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, O_NONBLOCK)
        }
        let excluded = excluding.map { $0.hasSuffix("/") ? $0 : $0 + "/" }
        // Drop roots inside other roots; each tree is watched once.
        let existing = Set(directories.map { ($0 as NSString).standardizingPath }).filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
        let roots = existing.filter { root in !existing.contains { $0 != root && root.hasPrefix($0 + "/") } }.sorted()
        let loop = DirectoryWatchLoop(fd: fd, stopRead: pipeFDs[0], excluded: excluded,
                                      debounceMs: Int32(clamping: debounce.components.seconds * 1000 + debounce.components.attoseconds / 1_000_000_000_000_000),
                                      onChange: onChange)
        for root in roots { loop.addTree(root, depth: 0) }
        loop.addFiles(files.map { ($0 as NSString).standardizingPath })
        self.roots = roots
        stopWrite = pipeFDs[1]
        let thread = Thread { loop.run() }
        thread.name = "mailroom-dir-watch"
        thread.start()
        #else
        throw AgentError("directory watching needs inotify (Linux)")
        #endif
    }

    /// Stops the watch thread. Safe to call more than once.
    public func stop() {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        var byte: UInt8 = 1
        _ = write(stopWrite, &byte, 1)
        close(stopWrite)
    }

    deinit { stop() }
}

#if canImport(Glibc)
/// Owned by the watch thread alone once started.
private final class DirectoryWatchLoop: @unchecked Sendable {
    let fd: Int32
    let stopRead: Int32
    let excluded: [String]
    let debounceMs: Int32
    let onChange: @Sendable ([String]) -> Void
    var directories: [Int32: String] = [:]
    /// Watches of a single file's directory (not recursive), and the files that count there.
    var fileDirectories: [Int32: String] = [:]
    var files: Set<String> = []

    static let mask = UInt32(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF) | UInt32(IN_ONLYDIR)

    init(fd: Int32, stopRead: Int32, excluded: [String], debounceMs: Int32, onChange: @escaping @Sendable ([String]) -> Void) {
        self.fd = fd
        self.stopRead = stopRead
        self.excluded = excluded
        self.debounceMs = debounceMs
        self.onChange = onChange
    }

    func addTree(_ path: String, depth: Int) {
        guard depth <= 16, !excluded.contains(where: { (path + "/").hasPrefix($0) }) else { return }
        let wd = inotify_add_watch(fd, path, Self.mask)
        guard wd >= 0 else { return }
        directories[wd] = path
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            let child = (path as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: child, isDirectory: &isDirectory), isDirectory.boolValue {
                addTree(child, depth: depth + 1)
            }
        }
    }

    func addFiles(_ paths: [String]) {
        files = Set(paths)
        for directory in Set(paths.map { ($0 as NSString).deletingLastPathComponent }) {
            let wd = inotify_add_watch(fd, directory, Self.mask)
            if wd >= 0, directories[wd] == nil { fileDirectories[wd] = directory }
        }
    }

    func run() {
        defer {
            close(fd)
            close(stopRead)
        }
        let capacity = 64 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: MemoryLayout<inotify_event>.alignment)
        defer { buffer.deallocate() }
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: stopRead, events: Int16(POLLIN), revents: 0)]
        var pending: Set<String> = []
        var quietSince = ContinuousClock.now
        while true {
            // Sleep without a timeout unless a batch is settling: no wake-ups when idle.
            var timeout: Int32 = -1
            if !pending.isEmpty {
                let elapsed = ContinuousClock.now - quietSince
                let left = Int32(debounceMs) - Int32(clamping: elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
                if left <= 0 {
                    onChange(pending.sorted())
                    pending = []
                    continue
                }
                timeout = left
            }
            let ready = poll(&fds, 2, timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            guard fds[0].revents != 0 else { continue }
            while true {
                let count = read(fd, buffer.baseAddress, capacity)
                if count < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN { break }
                    return
                }
                if count == 0 { break }
                let changed = handle(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                if !changed.isEmpty {
                    pending.formUnion(changed)
                    quietSince = .now
                }
            }
        }
    }

    func handle(_ raw: UnsafeRawBufferPointer) -> [String] {
        let header = MemoryLayout<inotify_event>.size
        var offset = 0
        var changed: [String] = []
        while offset + header <= raw.count {
            let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
            let nameEnd = min(offset + header + Int(event.len), raw.count)
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[(offset + header)..<nameEnd]).prefix(while: { $0 != 0 }), as: UTF8.self)
            offset += header + Int(event.len)
            if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                changed.append("(events lost)")
                continue
            }
            if event.mask & UInt32(IN_IGNORED) != 0 {
                directories[event.wd] = nil
                fileDirectories[event.wd] = nil
                continue
            }
            if let directory = fileDirectories[event.wd] {
                let path = (directory as NSString).appendingPathComponent(name)
                if files.contains(path) { changed.append(path) }
                continue
            }
            guard let directory = directories[event.wd] else { continue }
            let path = name.isEmpty ? directory : (directory as NSString).appendingPathComponent(name)
            if event.mask & UInt32(IN_ISDIR) != 0, event.mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 {
                // Watch the new directory, and scan it: files may have arrived before the watch.
                addTree(path, depth: 1)
            }
            if !excluded.contains(where: { (path + "/").hasPrefix($0) }) { changed.append(path) }
        }
        return changed
    }
}
#endif
