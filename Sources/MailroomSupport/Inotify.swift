#if canImport(Glibc)
    import Foundation
    import Glibc

    /// One inotify instance, read on a thread of its own (`poll()`/`read()` block, so never on the
    /// cooperative pool), with a pipe that stops it. The git refs watch and the agent's directory
    /// watch are both built on it; each keeps its own watch bookkeeping.
    package final class InotifyReader: @unchecked Sendable {
        // `fd` and `stopRead` belong to the reading thread once `start` is called; before that,
        // to the caller that sets up the watches. `stopWrite` is guarded by `stopped`.

        /// One event: the watch it came from, its mask, and the name inside the watched directory.
        package struct Event {
            package let watch: Int32
            let mask: UInt32
            package let name: String

            package func has(_ flag: Int32) -> Bool { mask & UInt32(flag) != 0 }
        }

        package let fd: Int32
        private let stopRead: Int32
        private let stopWrite: Int32
        private let stopped = LockedValue(false)

        /// Opens the instance and its stop pipe; throws a short reason (strerror) on failure.
        package init() throws {
            fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
            guard fd >= 0 else { throw InotifyError(String(cString: strerror(errno))) }
            var pipeFDs: [Int32] = [-1, -1]
            // pipe2 needs _GNU_SOURCE, which Glibc's module map doesn't define: set the flags after.
            guard pipe(&pipeFDs) == 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw InotifyError(reason)
            }
            for end in pipeFDs {
                _ = fcntl(end, F_SETFD, FD_CLOEXEC)
                _ = fcntl(end, F_SETFL, O_NONBLOCK)
            }
            stopRead = pipeFDs[0]
            stopWrite = pipeFDs[1]
        }

        /// Watches `path` and every directory under it, down to `maxDepth`, skipping paths `skip`
        /// says to; `record` learns each watch. False if `path` itself could not be watched.
        @discardableResult
        package func addTree(
            _ path: String, mask: UInt32, depth: Int = 0, maxDepth: Int = 16, skip: (String) -> Bool = { _ in false },
            record: (Int32, String) -> Void
        ) -> Bool {
            guard depth <= maxDepth, !skip(path) else { return false }
            let watch = inotify_add_watch(fd, path, mask)
            guard watch >= 0 else { return false }
            record(watch, path)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                let child = (path as NSString).appendingPathComponent(name)
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: child, isDirectory: &isDirectory), isDirectory.boolValue {
                    addTree(child, mask: mask, depth: depth + 1, maxDepth: maxDepth, skip: skip, record: record)
                }
            }
            return true
        }

        /// Starts the reading thread. It sleeps in `poll` for `timeout()` milliseconds (-1: until an
        /// event, so an idle watch never wakes), hands each drained batch to `onEvents`, and calls
        /// `onTimeout` when a timeout passes quietly. Everything runs on that thread.
        ///
        /// `name` is the thread's name in `/proc/PID/task/*/comm` (15 bytes at most).
        package func start(
            name: String, timeout: @escaping @Sendable () -> Int32 = { -1 },
            onEvents: @escaping @Sendable ([Event]) -> Void,
            onTimeout: @escaping @Sendable () -> Void = {}
        ) {
            let thread = Thread { [self] in
                nameCurrentThread(name)
                defer {
                    close(fd)
                    close(stopRead)
                }
                let capacity = 64 * 1024
                let buffer = UnsafeMutableRawBufferPointer.allocate(
                    byteCount: capacity, alignment: MemoryLayout<inotify_event>.alignment)
                defer { buffer.deallocate() }
                var fds = [
                    pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                    pollfd(fd: stopRead, events: Int16(POLLIN), revents: 0),
                ]
                while true {
                    let ready = poll(&fds, 2, timeout())
                    if ready < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    if fds[1].revents != 0 { return }
                    if ready == 0 {
                        onTimeout()
                        continue
                    }
                    guard fds[0].revents != 0 else { continue }
                    var events: [Event] = []
                    // Drain what is queued; the descriptor is non-blocking, so this ends at EAGAIN.
                    while true {
                        let count = read(fd, buffer.baseAddress, capacity)
                        if count < 0 {
                            if errno == EINTR { continue }
                            if errno == EAGAIN { break }
                            return
                        }
                        if count == 0 { break }
                        events += Self.parse(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                    }
                    if !events.isEmpty { onEvents(events) }
                }
            }
            thread.start()
        }

        /// Stops the reading thread; it closes the descriptors on its way out. Safe to call more than once.
        package func stop() {
            let first = stopped.withLock { stopped in
                defer { stopped = true }
                return !stopped
            }
            guard first else { return }
            var byte: UInt8 = 1
            _ = write(stopWrite, &byte, 1)
            close(stopWrite)
        }

        /// Closes everything when setting up the watches failed and `start` was never called.
        package func closeUnstarted() {
            stopped.withLock { $0 = true }
            close(fd)
            close(stopRead)
            close(stopWrite)
        }

        /// Splits a buffer into events (the flexible `name[]` member is not imported into Swift).
        static func parse(_ raw: UnsafeRawBufferPointer) -> [Event] {
            let header = MemoryLayout<inotify_event>.size
            var offset = 0
            var events: [Event] = []
            while offset + header <= raw.count {
                let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                let nameEnd = min(offset + header + Int(event.len), raw.count)
                let name = String(
                    decoding: UnsafeRawBufferPointer(rebasing: raw[(offset + header)..<nameEnd]).prefix(while: {
                        $0 != 0
                    }), as: UTF8.self)
                offset += header + Int(event.len)
                events.append(Event(watch: event.wd, mask: event.mask, name: name))
            }
            return events
        }
    }

    /// inotify could not be set up; the text is the system's reason.
    struct InotifyError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
#endif
