import Foundation

#if canImport(Glibc)
import Glibc

/// Watches a local repository's refs with inotify, so a push is noticed within milliseconds.
///
/// Watches `refs/` recursively (new subdirectories such as `refs/heads/team/` are added as
/// they appear) and the git directory itself for `packed-refs` being replaced. Events for
/// `*.lock` files are ignored: git renames the lock over the ref once the update is complete,
/// and that rename is the event that counts.
///
/// `read()`/`poll()` block, so the watch runs on a thread of its own, never on the
/// cooperative pool. `onChange` is called on that thread, once per batch of events.
final class RefsWatch: Sendable {
    private let stopWrite: Int32
    private let stopped = LockedValue(false)

    /// Starts watching `gitDirectory` (the repository's shared git directory).
    init(gitDirectory: String, onChange: @escaping @Sendable () -> Void) throws {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else {
            throw GitError(.watch, "cannot start an inotify watch on \(gitDirectory)",
                           hint: "raise fs.inotify.max_user_instances, or use polling", detail: String(cString: strerror(errno)))
        }
        var pipeFDs: [Int32] = [-1, -1]
        // pipe2 needs _GNU_SOURCE, which Glibc's module map doesn't define: set the flags after.
        guard pipe(&pipeFDs) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw GitError(.watch, "cannot create a pipe for the watch on \(gitDirectory)", detail: reason)
        }
        for end in pipeFDs {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, O_NONBLOCK)
        }
        let loop = InotifyLoop(fd: fd, stopRead: pipeFDs[0], gitDirectory: gitDirectory, onChange: onChange)
        do {
            try loop.addInitialWatches()
        } catch {
            loop.closeDescriptors()
            close(pipeFDs[1])
            throw error
        }
        stopWrite = pipeFDs[1]
        let thread = Thread { loop.run() }
        thread.name = "mailroom-refs-watch"
        thread.start()
    }

    /// Stops the watch thread; it closes its descriptors on the way out. Safe to call more than once.
    func stop() {
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

/// The state of one inotify watch. Built on the caller's thread, then owned by the watch thread alone.
private final class InotifyLoop: @unchecked Sendable {
    let fd: Int32
    let stopRead: Int32
    let gitDirectory: String
    let onChange: @Sendable () -> Void
    /// Watch descriptor → directory path.
    var directories: [Int32: String] = [:]
    var gitDirectoryWatch: Int32 = -1

    static let maxDepth = 16
    static let refsMask = UInt32(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE | IN_DELETE_SELF) | UInt32(IN_ONLYDIR)
    static let gitDirectoryMask = UInt32(IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_CLOSE_WRITE) | UInt32(IN_ONLYDIR)

    init(fd: Int32, stopRead: Int32, gitDirectory: String, onChange: @escaping @Sendable () -> Void) {
        self.fd = fd
        self.stopRead = stopRead
        self.gitDirectory = gitDirectory
        self.onChange = onChange
    }

    func addInitialWatches() throws {
        gitDirectoryWatch = inotify_add_watch(fd, gitDirectory, Self.gitDirectoryMask)
        guard gitDirectoryWatch >= 0 else {
            throw GitError(.watch, "cannot watch \(gitDirectory)", hint: "check that it exists and is readable",
                           detail: String(cString: strerror(errno)))
        }
        let refs = (gitDirectory as NSString).appendingPathComponent("refs")
        guard addTree(refs, depth: 0) else {
            throw GitError(.watch, "cannot watch \(refs)", hint: "raise fs.inotify.max_user_watches, or use polling",
                           detail: String(cString: strerror(errno)))
        }
    }

    /// Adds a watch on `path` and every directory under it; false if `path` itself could not be watched.
    @discardableResult
    func addTree(_ path: String, depth: Int) -> Bool {
        guard depth <= Self.maxDepth else { return false }
        let wd = inotify_add_watch(fd, path, Self.refsMask)
        guard wd >= 0 else { return false }
        directories[wd] = path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        for name in names {
            let child = (path as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: child, isDirectory: &isDirectory), isDirectory.boolValue {
                addTree(child, depth: depth + 1)
            }
        }
        return true
    }

    func closeDescriptors() {
        close(fd)
        close(stopRead)
    }

    func run() {
        defer { closeDescriptors() }
        let capacity = 64 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: MemoryLayout<inotify_event>.alignment)
        defer { buffer.deallocate() }
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: stopRead, events: Int16(POLLIN), revents: 0)]
        while true {
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            guard fds[0].revents != 0 else { continue }
            var changed = false
            // Drain what is queued; the descriptor is non-blocking, so this ends at EAGAIN.
            while true {
                let count = read(fd, buffer.baseAddress, capacity)
                if count < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN { break }
                    return
                }
                if count == 0 { break }
                changed = handle(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) || changed
            }
            if changed { onChange() }
        }
    }

    /// Handles one buffer of events; true if a ref may have changed.
    func handle(_ raw: UnsafeRawBufferPointer) -> Bool {
        let header = MemoryLayout<inotify_event>.size
        var offset = 0
        var changed = false
        while offset + header <= raw.count {
            let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
            let nameEnd = min(offset + header + Int(event.len), raw.count)
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[(offset + header)..<nameEnd]).prefix(while: { $0 != 0 }), as: UTF8.self)
            offset += header + Int(event.len)

            if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                changed = true  // events were lost: assume the worst
                continue
            }
            if event.mask & UInt32(IN_IGNORED) != 0 {
                directories[event.wd] = nil
                continue
            }
            if event.wd == gitDirectoryWatch {
                if name == "packed-refs" { changed = true }
                continue
            }
            guard let directory = directories[event.wd] else { continue }
            if event.mask & UInt32(IN_ISDIR) != 0, event.mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 {
                // A new directory (refs/heads/team/): watch it, and count it as a change in case
                // a ref was written there before the watch was in place.
                addTree((directory as NSString).appendingPathComponent(name), depth: 1)
                changed = true
                continue
            }
            if name.hasSuffix(".lock") { continue }
            changed = true
        }
        return changed
    }
}
#endif

/// A value behind a lock, for state shared between threads.
final class LockedValue<Value: Sendable>: @unchecked Sendable {
    // Every access to `value` goes through `withLock`.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    var current: Value { withLock { $0 } }
}
