import Foundation
import MailroomSupport

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
        private let reader: InotifyReader

        /// Starts watching `gitDirectory` (the repository's shared git directory).
        init(gitDirectory: String, onChange: @escaping @Sendable () -> Void) throws {
            do { reader = try InotifyReader() } catch {
                throw GitError(
                    .watch, "cannot start an inotify watch on \(gitDirectory)",
                    hint: "raise fs.inotify.max_user_instances, or use polling", detail: "\(error)")
            }
            let refs = RefsWatchState(reader: reader, gitDirectory: gitDirectory)
            do {
                try refs.addInitialWatches()
            } catch {
                reader.closeUnstarted()
                throw error
            }
            reader.start(
                name: "mailroom-refs",
                onEvents: { events in
                    if refs.handle(events) { onChange() }
                })
        }

        /// Stops the watch thread. Safe to call more than once.
        func stop() { reader.stop() }

        deinit { stop() }
    }

    /// Which watch is which. Built on the caller's thread, then owned by the watch thread alone.
    private final class RefsWatchState: @unchecked Sendable {
        let reader: InotifyReader
        let gitDirectory: String
        /// Watch descriptor → directory path under `refs/`.
        var directories: [Int32: String] = [:]
        var gitDirectoryWatch: Int32 = -1

        static let refsMask =
            UInt32(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE | IN_DELETE_SELF)
            | UInt32(IN_ONLYDIR)
        static let gitDirectoryMask = UInt32(IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_CLOSE_WRITE) | UInt32(IN_ONLYDIR)

        init(reader: InotifyReader, gitDirectory: String) {
            self.reader = reader
            self.gitDirectory = gitDirectory
        }

        func addInitialWatches() throws {
            gitDirectoryWatch = inotify_add_watch(reader.fd, gitDirectory, Self.gitDirectoryMask)
            guard gitDirectoryWatch >= 0 else {
                throw GitError(
                    .watch, "cannot watch \(gitDirectory)", hint: "check that it exists and is readable",
                    detail: String(cString: strerror(errno)))
            }
            let refs = (gitDirectory as NSString).appendingPathComponent("refs")
            guard addTree(refs, depth: 0) else {
                throw GitError(
                    .watch, "cannot watch \(refs)", hint: "raise fs.inotify.max_user_watches, or use polling",
                    detail: String(cString: strerror(errno)))
            }
        }

        @discardableResult
        func addTree(_ path: String, depth: Int) -> Bool {
            reader.addTree(path, mask: Self.refsMask, depth: depth) { directories[$0] = $1 }
        }

        /// True if a ref may have changed.
        func handle(_ events: [InotifyReader.Event]) -> Bool {
            var changed = false
            for event in events {
                if event.has(IN_Q_OVERFLOW) {
                    changed = true  // events were lost: assume the worst
                    continue
                }
                if event.has(IN_IGNORED) {
                    directories[event.watch] = nil
                    continue
                }
                if event.watch == gitDirectoryWatch {
                    if event.name == "packed-refs" { changed = true }
                    continue
                }
                guard let directory = directories[event.watch] else { continue }
                if event.has(IN_ISDIR), event.has(IN_CREATE | IN_MOVED_TO) {
                    // A new directory (refs/heads/team/): watch it, and count it as a change in case
                    // a ref was written there before the watch was in place.
                    addTree((directory as NSString).appendingPathComponent(event.name), depth: 1)
                    changed = true
                    continue
                }
                if event.name.hasSuffix(".lock") { continue }
                changed = true
            }
            return changed
        }
    }
#endif
