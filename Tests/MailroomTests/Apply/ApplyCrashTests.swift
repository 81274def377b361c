import Foundation
import Testing

@testable import MailroomApply
@testable import MailroomHost
@testable import MailroomSupport
@testable import MailroomTestSupport

@Suite("Apply interrupted by SIGKILL", .serialized, .tags(.podman))
struct ApplyCrashTests {
    @Test("a rollout killed mid-way is recognised and completed by the next run; history shows the interruption")
    func killedMidRollout() async throws {
        try await ApplyHarness.with { h in try await killedMidRollout(h) }
    }

    func killedMidRollout(_ h: ApplyHarness) async throws {
        let front = h.name("mailu-front")
        // mailu-front (wave 1) turns healthy only once the test opens its gate: the rollout
        // waits for it, and the kill lands in that wait however slow this machine is.
        let spec = h.deployment.standInSpec(overrides: ["mailu-front": GatedHealthCheck.overrides])
        let killed = try await killMidRollout(h, spec: spec, front: front)

        // Step 2: the next run notices, records the interruption and completes the rollout by
        // re-planning; mailu-front, created before the kill, is kept and only waited for.
        try await GatedHealthCheck.open(front)
        let next = try await h.apply(spec)
        #expect(next.status == .succeeded, "\(next.error ?? "")")
        #expect(next.resumed == killed.id)
        #expect(
            !next.steps.contains {
                $0.target == front && $0.action.rawValue.hasPrefix("container.") && $0.action != .containerWait
            })
        let containers = try await h.containers()
        #expect(containers.count == 13 && containers.values.allSatisfy { $0.state == "running" })
        let history = h.history
        #expect(history.rollout(killed.id)?.status == .interrupted)
        #expect(history.rollout(killed.id)?.error?.contains(try #require(next.rollout)) == true)
        #expect(history.rollouts.last?.resumes == killed.id)
        // Its duration runs to the last step it was seen doing, not to when the crash was noticed.
        let record = try #require(history.rollout(killed.id))
        let lastStep = try #require(record.steps.map(\.ended).max())
        let seen = Int(lastStep.timeIntervalSince(record.started) * 1000)
        #expect(abs((record.durationMs ?? -1) - seen) <= 1, "\(record.durationMs ?? -1) ms, last step at \(seen) ms")

        // Step 3: the CLI shows it too.
        let host = h.deployment.host
        let listed = try await MailroomBinary.run(["history"], state: host.stateDirectory)
        #expect(listed.status == 0)
        #expect(listed.stdoutText.contains("\(killed.id)"))
        #expect(listed.stdoutText.contains("interrupted"))
        #expect(listed.stdoutText.contains("succeeded (completes \(killed.id))"))
        let shown = try await MailroomBinary.run(["show", killed.id], state: host.stateDirectory)
        #expect(shown.status == 0)
        #expect(shown.stdoutText.contains("result    interrupted"))
        #expect(shown.stdoutText.contains("container.create \(front)"))
        let json = try await MailroomBinary.run(["show", killed.id, "--output", "json"], state: host.stateDirectory)
        #expect(json.stdoutText.contains("\"result\" : \"interrupted\""))
    }

    /// Step 1: `mailroom apply` of `spec` as a child process; once the journal shows `front`
    /// created, kill -9 of the pid the lock file names. Returns the killed rollout.
    func killMidRollout(_ h: ApplyHarness, spec: String, front: String) async throws -> RolloutSummary {
        try h.deployment.writeSpec(spec)
        let host = h.deployment.host
        // The health timeout only has to outlast the test's reaction to the journal.
        let cli = Task {
            try await MailroomBinary.run(
                ["apply", h.deployment.specDirectory, "--yes", "--health-timeout", "600"], host: host)
        }
        try await waitFor("mailu-front created, in the journal") {
            h.history.rollouts.contains { $0.steps.contains { $0.action == .containerCreate && $0.target == front } }
        }
        let lockText = try String(contentsOfFile: ApplyLock.path(in: host.stateDirectory), encoding: .utf8)
        let pid = try #require(Int32(lockText.trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(pid, SIGKILL)
        #expect(try await cli.value.status == 128 + SIGKILL)
        let killed = try #require(h.history.rollouts.last)
        #expect(killed.status == nil)
        #expect(killed.steps.contains { $0.target == front })
        #expect(!killed.steps.contains { $0.target == h.name("mailu-fetchmail") })
        #expect(try await h.containers().count < 13)
        return killed
    }
}

@Suite("Apply stopped after a step", .serialized, .tags(.podman))
struct ApplyInterruptionTests {
    @Test(
        "a rollout stopped during its last health wait ends `interrupted`; the next run, with nothing to change, completes it"
    )
    func stoppedThenCompleted() async throws {
        try await ApplyHarness.with { h in
            let webdav = h.name("mailu-webdav")
            #expect(try await h.apply(h.deployment.standInSpec(), commit: "first").status == .succeeded)
            // The new webdav turns healthy only once the test opens its gate; the rollout is
            // stopped while it waits (its timeout only has to outlast the watcher).
            let slow = h.deployment.standInSpec(overrides: ["mailu-webdav": GatedHealthCheck.overrides])
            let stop = LockedValue(false)
            let watcher = Task {
                // Stop once the new webdav's health check has run: the rollout is in its health
                // wait, all that is left, and sees the stop at its next check.
                while !Task.isCancelled {
                    if await GatedHealthCheck.checked(webdav) {
                        stop.withLock { $0 = true }
                        return
                    }
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            var options = ApplyOptions(healthTimeout: .minutes(10))
            options.interruption = { stop.current ? .shutdown : nil }
            let stopped = try await h.apply(slow, commit: "second", options: options)
            watcher.cancel()
            #expect(stopped.status == .interrupted && stopped.autoRollback == nil)
            #expect(
                stopped.steps.contains { $0.action == .containerWait && $0.target == webdav && $0.result == .cancelled }
            )
            #expect(try h.applied.commit == "first")  // not recorded as applied before its checks ran
            #expect(h.history.rollouts.last?.status == .interrupted)
            #expect(Journal.stoppedRollout(stateDirectory: h.deployment.host.stateDirectory) == stopped.rollout)

            // Same spec again, webdav now able to pass: the plan has no changes, but the owed
            // health wait and the applied commit are completed by a rollout of their own that
            // says what it completes.
            try await GatedHealthCheck.open(webdav)
            let completed = try await h.apply(
                slow, commit: "second", options: ApplyOptions(healthTimeout: .seconds(30)))
            #expect(completed.status == .succeeded && completed.resumed == stopped.rollout)
            #expect(completed.plan?.hasChanges == false)
            #expect(completed.steps.contains { $0.action == .containerWait && $0.target == webdav && $0.result == .ok })
            #expect(
                !completed.steps.contains {
                    $0.action.rawValue.hasPrefix("container.") && $0.action != .containerWait
                        && $0.action != .containerReload
                })
            #expect(try h.applied.commit == "second")
            #expect(h.history.rollouts.last?.resumes == stopped.rollout)
            #expect(Journal.stoppedRollout(stateDirectory: h.deployment.host.stateDirectory) == nil)
            // And then nothing is owed: a plain no-op.
            #expect(try await h.apply(slow, commit: "second").status == .noChanges)
        }
    }
}
