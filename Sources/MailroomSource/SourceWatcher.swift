import Foundation
import Logging
import MailroomSupport

/// Notices new commits and reports each fetch: the agent's change detection.
///
/// A local repository (path or `file://`) is watched with inotify, so a push is seen within
/// milliseconds; a remote is polled on a ``PollSchedule`` that backs off after failures. Local
/// repositories are polled too, as a safety net. ``trigger()`` asks for a fetch at once (for a
/// webhook or a CLI request). Triggers that arrive while a fetch runs are merged into one.
///
/// ```swift
/// let watcher = SourceWatcher(source: source)
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { await watcher.run(logger: logger) { update in await agent.handle(update) } }
/// }
/// ```
public final class SourceWatcher: Sendable {
    /// What started a fetch.
    public enum Reason: String, Sendable {
        /// The fetch made when ``run(logger:onUpdate:)`` starts.
        case initial
        /// A ref of the local origin changed.
        case refsChanged = "refs-changed"
        case poll
        /// ``trigger()`` was called.
        case demand
    }

    /// How changes are noticed.
    public enum Detection: Sendable, Equatable {
        /// inotify for local repositories (with polling as a safety net), polling for remotes.
        case automatic
        /// Polling only, e.g. for a local repository on a network file system.
        case polling
    }

    /// The outcome of one fetch.
    public struct Update: Sendable {
        public let reason: Reason
        public let result: Result<FetchResult, GitError>
        /// When the fetch finished.
        public let at: Date
    }

    /// What the watcher knows, for status output.
    public struct Status: Sendable, Equatable {
        /// Whether inotify watches the origin's refs.
        public var watchingRefs = false
        /// When the last fetch finished, successfully or not.
        public var lastCheck: Date?
        /// The commit of the last successful fetch.
        public var lastCommit: GitObjectID?
        /// The last failure; kept after later successes, with its time.
        public var lastError: GitError?
        public var lastErrorAt: Date?
        /// Failures since the last success; drives the poll backoff.
        public var consecutiveFailures = 0
        /// The delay chosen for the next poll.
        public var nextPollDelay: Duration?
    }

    private let source: GitSource
    private let schedule: PollSchedule
    private let detection: Detection
    private let reasons: AsyncStream<Reason>
    private let continuation: AsyncStream<Reason>.Continuation
    private let state = LockedValue(Status())
    private let started = LockedValue(false)

    /// - Parameters:
    ///   - source: what to fetch.
    ///   - schedule: the polling schedule (default: every 60 s ± 10 %).
    ///   - detection: inotify where possible (default), or polling only.
    public init(source: GitSource, schedule: PollSchedule = .standard, detection: Detection = .automatic) {
        self.source = source
        self.schedule = schedule
        self.detection = detection
        // Keep only the newest pending reason: one fetch covers every change before it.
        (reasons, continuation) = AsyncStream.makeStream(of: Reason.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// What the watcher knows now.
    public var status: Status { state.current }

    /// Asks for a fetch now. Merged with any other pending trigger; no effect after `run` ends.
    public func trigger() {
        continuation.yield(.demand)
    }

    /// Fetches once at start, then on every detected change, until the task is cancelled.
    ///
    /// `onUpdate` receives every fetch's outcome, in order, one at a time; check
    /// ``FetchResult/isNewCommit`` and ``FetchResult/specChanged`` to decide what to do.
    /// Call `run` once per watcher.
    public func run(logger: Logger, onUpdate: @escaping @Sendable (Update) async -> Void) async {
        let first = started.withLock { started in
            defer { started = true }
            return !started
        }
        guard first else {
            logger.error("SourceWatcher.run called twice; ignoring the second call")
            return
        }
        let refsWatch = await startRefsWatch(logger: logger)
        defer {
            refsWatch?.stop()
            continuation.finish()
        }
        continuation.yield(.initial)

        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.pollLoop() }
            for await reason in reasons {
                let result: Result<FetchResult, GitError>
                do {
                    result = .success(try await source.fetch(logger: logger))
                } catch let error as GitError {
                    result = .failure(error)
                } catch {
                    result = .failure(GitError(.libgit2, "the fetch failed", detail: "\(error)"))
                }
                let update = Update(reason: reason, result: result, at: Date())
                record(update, logger: logger)
                await onUpdate(update)
                if Task.isCancelled { break }
            }
            group.cancelAll()
        }
    }

    // MARK: - Internals

    private func startRefsWatch(logger: Logger) async -> RefsWatch? {
        guard detection == .automatic else { return nil }
        #if canImport(Glibc)
            do {
                guard let gitDirectory = try await source.offPool({ try self.source.localGitDirectory() }) else {
                    return nil
                }
                let watch = try RefsWatch(gitDirectory: gitDirectory) { [continuation] in
                    continuation.yield(.refsChanged)
                }
                state.withLock { $0.watchingRefs = true }
                logger.debug("Watching the origin's refs", metadata: ["source.git-dir": "\(gitDirectory)"])
                return watch
            } catch {
                // The first fetch will report a missing or broken repository; polling carries on.
                logger.warning("Cannot watch the origin's refs; polling only", metadata: ["source.error": "\(error)"])
                return nil
            }
        #else
            return nil
        #endif
    }

    /// Sleeps for the scheduled delay, then asks for a fetch; ends when cancelled.
    private func pollLoop() async {
        while !Task.isCancelled {
            let failures = state.current.consecutiveFailures
            let delay = schedule.delay(afterFailures: failures)
            state.withLock { $0.nextPollDelay = delay }
            do {
                try await Task.sleep(for: delay)
            } catch {
                return
            }
            continuation.yield(.poll)
        }
    }

    private func record(_ update: Update, logger: Logger) {
        state.withLock { status in
            status.lastCheck = update.at
            switch update.result {
            case .success(let result):
                status.lastCommit = result.commit
                status.consecutiveFailures = 0
            case .failure(let error):
                status.lastError = error
                status.lastErrorAt = update.at
                status.consecutiveFailures += 1
            }
        }
        switch update.result {
        case .success(let result) where result.isNewCommit:
            logger.info(
                "New commit",
                metadata: [
                    "source.commit": "\(result.commit)", "source.spec-changed": "\(result.specChanged)",
                    "source.forced": "\(result.forced)", "source.reason": "\(update.reason.rawValue)",
                ])
        case .success:
            break
        case .failure(let error):
            logger.error(
                "Fetch failed; keeping the last good state",
                metadata: [
                    "source.error": "\(error)", "source.error-code": "\(error.code)",
                    "source.reason": "\(update.reason.rawValue)",
                ])
        }
    }
}
