import Foundation
import MailroomSupport

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
    #if canImport(Glibc)
        private let reader: InotifyReader
    #endif
    /// The directories watched at start (those that exist).
    public let roots: [String]

    public init(
        directories: [String], files: [String] = [], excluding: [String] = [], debounce: Duration,
        onChange: @escaping @Sendable ([String]) -> Void
    ) throws {
        #if canImport(Glibc)
            do { reader = try InotifyReader() } catch { throw AgentError("cannot start inotify: \(error)") }
            let excluded = excluding.map { $0.hasSuffix("/") ? $0 : $0 + "/" }
            // Drop roots inside other roots; each tree is watched once.
            let existing = Set(directories.map { ($0 as NSString).standardizingPath }).filter { path in
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
            }
            let roots = existing.filter { root in !existing.contains { $0 != root && root.hasPrefix($0 + "/") } }
                .sorted()
            let state = DirectoryWatchState(reader: reader, excluded: excluded, debounce: debounce, onChange: onChange)
            for root in roots { state.addTree(root, depth: 0) }
            state.addFiles(files.map { ($0 as NSString).standardizingPath })
            self.roots = roots
            reader.start(
                name: "mailroom-files", timeout: { state.timeout() }, onEvents: { state.handle($0) },
                onTimeout: { state.flushIfSettled() })
        #else
            throw AgentError("directory watching needs inotify (Linux)")
        #endif
    }

    /// Stops the watch thread. Safe to call more than once.
    public func stop() {
        #if canImport(Glibc)
            reader.stop()
        #endif
    }

    deinit { stop() }
}

#if canImport(Glibc)
    /// Which watch is which, and the batch settling. Built on the caller's thread, then owned by
    /// the watch thread alone.
    private final class DirectoryWatchState: @unchecked Sendable {
        let reader: InotifyReader
        let excluded: [String]
        let debounce: Duration
        let onChange: @Sendable ([String]) -> Void
        var directories: [Int32: String] = [:]
        /// Watches of a single file's directory (not recursive), and the files that count there.
        var fileDirectories: [Int32: String] = [:]
        var files: Set<String> = []
        var pending: Set<String> = []
        var quietSince = ContinuousClock.now

        static let mask =
            UInt32(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF)
            | UInt32(IN_ONLYDIR)

        init(
            reader: InotifyReader, excluded: [String], debounce: Duration,
            onChange: @escaping @Sendable ([String]) -> Void
        ) {
            self.reader = reader
            self.excluded = excluded
            self.debounce = debounce
            self.onChange = onChange
        }

        func addTree(_ path: String, depth: Int) {
            reader.addTree(
                path, mask: Self.mask, depth: depth,
                skip: { path in self.excluded.contains { (path + "/").hasPrefix($0) } }
            ) {
                directories[$0] = $1
            }
        }

        func addFiles(_ paths: [String]) {
            files = Set(paths)
            for directory in Set(paths.map { ($0 as NSString).deletingLastPathComponent }) {
                let watch = inotify_add_watch(reader.fd, directory, Self.mask)
                if watch >= 0, directories[watch] == nil { fileDirectories[watch] = directory }
            }
        }

        /// Sleep until an event unless a batch is settling: no wake-ups when idle.
        func timeout() -> Int32 {
            guard !pending.isEmpty else { return -1 }
            let left = debounce - (ContinuousClock.now - quietSince)
            return max(
                0, Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
            )
        }

        func flushIfSettled() {
            guard !pending.isEmpty, ContinuousClock.now - quietSince >= debounce else { return }
            onChange(pending.sorted())
            pending = []
        }

        func handle(_ events: [InotifyReader.Event]) {
            var changed: [String] = []
            for event in events {
                if event.has(IN_Q_OVERFLOW) {
                    changed.append("(events lost)")
                    continue
                }
                if event.has(IN_IGNORED) {
                    directories[event.watch] = nil
                    fileDirectories[event.watch] = nil
                    continue
                }
                if let directory = fileDirectories[event.watch] {
                    let path = (directory as NSString).appendingPathComponent(event.name)
                    if files.contains(path) { changed.append(path) }
                    continue
                }
                guard let directory = directories[event.watch] else { continue }
                let path = event.name.isEmpty ? directory : (directory as NSString).appendingPathComponent(event.name)
                if event.has(IN_ISDIR), event.has(IN_CREATE | IN_MOVED_TO) {
                    // Watch the new directory, and scan it: files may have arrived before the watch.
                    addTree(path, depth: 1)
                }
                if !excluded.contains(where: { (path + "/").hasPrefix($0) }) { changed.append(path) }
            }
            if !changed.isEmpty {
                pending.formUnion(changed)
                quietSince = .now
            }
        }
    }
#endif
