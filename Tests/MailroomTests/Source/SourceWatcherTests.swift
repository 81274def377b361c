import Foundation
import Testing

@testable import MailroomSource
@testable import MailroomSupport
@testable import MailroomTestSupport

/// Collects a watcher's updates for a test to wait on.
actor UpdateLog {
    private(set) var updates: [SourceWatcher.Update] = []

    func append(_ update: SourceWatcher.Update) { updates.append(update) }

    /// Waits, polling every 5 ms, until `predicate` holds for some update; nil after `timeout`
    /// (minutes: a bound for an update that never comes, not for a slow one).
    func first(
        after index: Int = 0, within timeout: Duration = .minutes(5), where predicate: (SourceWatcher.Update) -> Bool
    ) async -> SourceWatcher.Update? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let hit = updates.dropFirst(index).first(where: predicate) { return hit }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return updates.dropFirst(index).first(where: predicate)
    }
}

extension SourceWatcher.Update {
    var commitHex: String? { (try? result.get())?.commit.hex }
}

@Suite("Source: change detection", .tags(.git))
struct SourceWatcherTests {
    /// Runs a watcher in a child task for `body`, then cancels it and waits for it to end.
    func withWatcher(
        _ watcher: SourceWatcher, _ f: SourceFixture, _ body: (UpdateLog) async throws -> Void
    ) async throws {
        let log = UpdateLog()
        let logger = f.logs.logger
        let task = Task { await watcher.run(logger: logger) { await log.append($0) } }
        do {
            try await body(log)
        } catch {
            task.cancel()
            await task.value
            throw error
        }
        task.cancel()
        await task.value
    }

    @Test("inotify sees a push to the local origin, reported as a refs change with its spec")
    func inotifySeesPush() async throws {
        let f = try SourceFixture()
        defer { f.remove() }
        let watcher = SourceWatcher(source: try f.source())
        try await withWatcher(watcher, f) { log in
            let initial = await log.first { $0.reason == .initial }
            #expect(initial?.commitHex == (try f.repo.head()))
            #expect(watcher.status.watchingRefs)

            let pushed = try f.repo.commitAndPush(["mailroom.yaml": TestSpecs.minimal + "# pushed\n"], message: "push")
            let seen = try #require(await log.first { $0.commitHex == pushed })
            #expect(seen.reason == .refsChanged)
            let result = try seen.result.get()
            #expect(result.specChanged)
            #expect(!result.forced)
            #expect(result.snapshot.specText.hasSuffix("# pushed\n"))

            // A branch in a new subdirectory of refs/heads is watched too, and reported without a spec change.
            let before = await log.updates.count
            try f.repo.git("push", "--quiet", "origin", "main:refs/heads/team/feature")
            let other = try #require(await log.first(after: before) { _ in true })
            #expect(other.reason == .refsChanged)
            #expect(try !other.result.get().isNewCommit)
            #expect(try !other.result.get().specChanged)
        }
    }

    @Test("trigger() fetches on demand, and failures are kept for status")
    func triggerOnDemand() async throws {
        let f = try SourceFixture(files: ["deploy/mailroom.yaml": TestSpecs.minimal])
        defer { f.remove() }
        // Polling only, with the standard 60 s interval: only the trigger can cause a fetch.
        let watcher = SourceWatcher(source: try f.source(path: "deploy"), detection: .polling)
        try await withWatcher(watcher, f) { log in
            _ = await log.first { $0.reason == .initial }
            #expect(!watcher.status.watchingRefs)
            let pushed = try f.repo.commitAndPush(["x.txt": "x\n"], message: "outside the spec")
            watcher.trigger()
            let seen = try #require(await log.first { $0.reason == .demand })
            #expect(seen.commitHex == pushed)
            #expect(try seen.result.get().specChanged == false)

            try ScratchRepository.git(["update-ref", "-d", "refs/heads/main"], in: f.repo.origin)
            watcher.trigger()
            let failed = try #require(await log.first { if case .failure = $0.result { true } else { false } })
            #expect(failed.reason == .demand)
            #expect(watcher.status.lastError?.code == .missingBranch)
            #expect(watcher.status.consecutiveFailures == 1)
            #expect(watcher.status.lastCommit?.hex == pushed)
        }
    }

    @Test("polling notices a commit when inotify is off")
    func pollingNotices() async throws {
        let f = try SourceFixture()
        defer { f.remove() }
        let schedule = PollSchedule(uncheckedInterval: .milliseconds(100))
        let watcher = SourceWatcher(source: try f.source(), schedule: schedule, detection: .polling)
        try await withWatcher(watcher, f) { log in
            _ = await log.first { $0.reason == .initial }
            let pushed = try f.repo.commitAndPush(["mailroom.yaml": TestSpecs.minimal + "# polled\n"], message: "poll")
            let seen = try #require(await log.first { $0.commitHex == pushed })
            #expect(seen.reason == .poll)
        }
    }
}

extension PureTests {
    /// The poll schedule: interval bounds, backoff after failures, jitter.
    @Suite("Source: poll schedule", .tags(.pure))
    struct PollScheduleTests {
        @Test("the poll interval is validated; delays back off and jitter stays in bounds")
        func pollSchedule() throws {
            #expect(gitError { try PollSchedule(interval: .seconds(4)) }?.code == .invalidConfiguration)
            #expect(gitError { try PollSchedule(interval: .seconds(10), jitter: 0.9) }?.code == .invalidConfiguration)
            #expect(
                gitError { try PollSchedule(interval: .seconds(60), maxBackoff: .seconds(30)) }?.code
                    == .invalidConfiguration)
            let schedule = try PollSchedule(interval: .seconds(5))
            #expect(schedule.interval == .seconds(5))
            #expect(try PollSchedule().interval == .seconds(60))
            #expect(PollSchedule.standard == (try PollSchedule()))

            #expect(schedule.delay(afterFailures: 0, random: 0.5) == .seconds(5))
            #expect(schedule.delay(afterFailures: 0, random: 0) == .milliseconds(4500))
            #expect(schedule.delay(afterFailures: 0, random: 1) == .milliseconds(5500))
            #expect(schedule.delay(afterFailures: 1, random: 0.5) == .seconds(10))
            #expect(schedule.delay(afterFailures: 3, random: 0.5) == .seconds(40))
            #expect(schedule.delay(afterFailures: 50, random: 0.5) == .seconds(900))  // capped at maxBackoff
            for _ in 0..<100 {
                let delay = schedule.delay(afterFailures: 0)
                #expect(delay >= .milliseconds(4500) && delay <= .milliseconds(5500))
            }
        }
    }
}
