import Dispatch
import Foundation
import Logging
import MailroomMailu
import MailroomRender
import MailroomSource
import MailroomSpec
import MailroomSupport
import MailroomTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Latency figures of the git source stage, measured on scratch repositories.
public struct SourceBenchmarkResult: Sendable, CustomStringConvertible {
    /// p50, p90 and maximum of a set of samples, in milliseconds.
    public struct Figures: Sendable, CustomStringConvertible {
        public var samples: Int
        public var p50: Double
        public var p90: Double
        public var max: Double

        init(_ values: [Double]) {
            let sorted = values.sorted()
            func at(_ q: Double) -> Double {
                sorted.isEmpty ? .nan : sorted[Int((q * Double(sorted.count - 1)).rounded())]
            }
            samples = sorted.count
            p50 = at(0.5)
            p90 = at(0.9)
            max = sorted.last ?? .nan
        }

        public var description: String {
            String(format: "p50 %.2f ms, p90 %.2f ms, max %.2f ms (n=%d)", p50, p90, max, samples)
        }
    }

    /// From the moment the pushed ref landed in the origin (the ref file's mtime) to
    /// `mailroom.yaml` parsed from the new commit's tree, via the inotify watcher.
    public var pushToSpec: Figures
    /// The same, counted from the start of the `git push` process (includes git's own time).
    public var gitPushStartToSpec: Figures
    /// Pushes the watcher did not report within 5 seconds.
    public var missedPushes: Int
    /// A fetch from a local origin with nothing new, as the agent calls it (`GitSource.fetch`).
    public var noChangeFetch: Figures

    /// The targets: push → parsed spec p50 under 20 ms, no-change fetch p50 under 10 ms.
    public var meetsTargets: Bool {
        missedPushes == 0 && pushToSpec.p50 < 20 && noChangeFetch.p50 < 10
    }

    public var description: String {
        """
        git source
          push -> spec parsed (from ref update):  \(pushToSpec)  [target p50 < 20 ms]
          push -> spec parsed (from git push start): \(gitPushStartToSpec)
          missed pushes: \(missedPushes)
          no-change fetch (local origin):          \(noChangeFetch)  [target p50 < 10 ms]
          targets met: \(meetsTargets ? "yes" : "no")
        """
    }
}

/// Measures the git source stage on repositories it creates with the git command-line tool.
public enum SourceBenchmark {
    /// Runs both measurements and removes its scratch repositories.
    ///
    /// - Parameters:
    ///   - pushes: commits pushed to a local bare origin while a ``SourceWatcher`` watches it.
    ///   - fetches: fetches made with nothing new to fetch.
    ///   - logger: receives the watcher's and source's log lines.
    public static func run(pushes: Int = 20, fetches: Int = 50, logger: Logger) async throws -> SourceBenchmarkResult {
        let repository = try await blocking { try ScratchRepository() }
        defer { repository.remove() }
        let source = GitSource(
            try SourceConfiguration(repository: repository.origin, stateDirectory: repository.root + "/state"))

        // (a) push → inotify → fetch → read tree → spec read (not yet expanded)
        let parsed = LockedValue<[String: Date]>([:])
        let compiler = SpecCompiler(profile: MailuProfile(), unitsDirectory: "/etc/systemd/system")
        let watcher = SourceWatcher(source: source)
        let watch = Task {
            await watcher.run(logger: logger) { update in
                guard case .success(let result) = update.result, result.isNewCommit else { return }
                if (try? compiler.read(result.snapshot.spec)) != nil {
                    let done = Date()
                    parsed.withLock { $0[result.commit.hex] = done }
                }
            }
        }
        defer { watch.cancel() }
        let initial = try await blocking { try repository.head() }
        _ = await waitFor(initial, in: parsed)

        var fromRef: [Double] = []
        var fromPushStart: [Double] = []
        var missed = 0
        let refFile = repository.origin + "/refs/heads/main"
        for index in 0..<max(pushes, 1) {
            let commit = try await blocking {
                try repository.commit(
                    ["mailroom.yaml": TestSpecs.minimal + "# push \(index)\n"], message: "push \(index)")
            }
            let pushStart = Date()
            _ = try await blocking { try repository.git("push", "--quiet", "origin", "main") }
            guard let done = await waitFor(commit, in: parsed) else {
                missed += 1
                continue
            }
            fromPushStart.append(done.timeIntervalSince(pushStart) * 1000)
            if let landed = modificationDate(refFile) {
                fromRef.append(max(0, done.timeIntervalSince(landed)) * 1000)
            }
            // Pushes in real life are not back to back; let trailing events settle.
            try await Task.sleep(for: .milliseconds(30))
        }
        watch.cancel()
        await watch.value

        // (b) fetch with nothing new
        let clock = ContinuousClock()
        var fetchTimes: [Double] = []
        _ = try await source.fetch(logger: logger)
        for _ in 0..<max(fetches, 1) {
            let start = clock.now
            let result = try await source.fetch(logger: logger)
            let elapsed = clock.now - start
            precondition(!result.isNewCommit, "the benchmark origin changed during the no-change fetches")
            fetchTimes.append(elapsed.seconds * 1000)
        }

        return SourceBenchmarkResult(
            pushToSpec: .init(fromRef), gitPushStartToSpec: .init(fromPushStart), missedPushes: missed,
            noChangeFetch: .init(fetchTimes))
    }

    /// Waits up to five seconds for `commit` to be parsed; returns when it was.
    private static func waitFor(_ commit: String, in parsed: LockedValue<[String: Date]>) async -> Date? {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if let done = parsed.withLock({ $0[commit] }) { return done }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return parsed.withLock { $0[commit] }
    }

    /// The file's modification time with nanoseconds (Foundation's attributes round it).
    private static func modificationDate(_ path: String) -> Date? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
    }

    /// Runs git and other blocking work off the cooperative pool, which the watcher needs.
    @discardableResult
    private static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }
}
