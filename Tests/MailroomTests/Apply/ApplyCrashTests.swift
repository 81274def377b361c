import Foundation
import Testing
@testable import MailroomApply
@testable import MailroomHost
@testable import MailroomSupport

/// The built `mailroom` executable, next to the test binary (`swift test` builds it too).
enum MailroomBinary {
    static var path: String {
        get throws {
            let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
            for candidate in [directory + "/mailroom", directory + "/../mailroom"] where FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
            throw TestSetupError("the mailroom executable is not built next to \(directory); run swift build first")
        }
    }

    /// Runs the CLI with the deployment's host paths; returns its exit status and output.
    static func run(_ arguments: [String], host: HostPaths) async throws -> (status: Int32, stdout: String, stderr: String) {
        let hostFlags = ["--state-dir", host.stateDirectory, "--units-dir", host.unitsDirectory, "--secrets-file", host.secretsFile]
        let result = try await ProcessRunner().run(isolatedEnvironment + [try path] + arguments + hostFlags)
        return (result.status, result.stdoutText, result.stderrText)
    }
}

@Suite("Apply interrupted by SIGKILL", .serialized)
struct ApplyCrashTests {
    @Test("a rollout killed mid-way is recognised and completed by the next run; history shows the interruption")
    func killedMidRollout() async throws {
        try await ApplyHarness.with { h in try await killedMidRollout(h) }
    }

    func killedMidRollout(_ h: ApplyHarness) async throws {
        // mailu-front (wave 1) turns healthy after 3 s: the kill lands while apply waits for it.
        let spec = h.deployment.standInSpec(overrides: ["mailu-front": [
            "command": "[sh, -c, \"sleep 3; echo ok > /tmp/ok; exec sleep 100000\"]",
            "healthcheck": "{command: \"test -f /tmp/ok\", interval: disable}",
        ]])
        try h.deployment.writeSpec(spec)
        let host = h.deployment.host
        let cli = Task {
            try await MailroomBinary.run(["apply", h.deployment.specDirectory, "--yes", "--health-timeout", "30"], host: host)
        }

        // Wait until the journal shows mailu-front created, then kill -9 the pid the lock file names.
        let front = h.name("mailu-front")
        let deadline = Date().addingTimeInterval(300)  // generous: podman is slow on a loaded machine
        while Date() < deadline, !h.history.rollouts.contains(where: { $0.steps.contains { $0.action == .containerCreate && $0.target == front } }) {
            try await Task.sleep(for: .milliseconds(50))
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

        // The next run notices, records the interruption and completes the rollout by re-planning.
        let next = try await h.apply(spec)
        #expect(next.status == .succeeded, "\(next.error ?? "")")
        #expect(next.resumed == killed.id)
        #expect(!next.steps.contains { $0.target == front && $0.action.rawValue.hasPrefix("container.") && $0.action != .containerWait })
        let containers = try await h.containers()
        #expect(containers.count == 13 && containers.values.allSatisfy { $0.state == "running" })
        let history = h.history
        #expect(history.rollout(killed.id)?.status == .interrupted)
        #expect(history.rollout(killed.id)?.error?.contains(try #require(next.rollout)) == true)
        #expect(history.rollouts.last?.resumes == killed.id)

        // The CLI shows it too.
        let listed = try await MailroomBinary.run(["history"], host: host)
        #expect(listed.status == 0)
        #expect(listed.stdout.contains("\(killed.id)"))
        #expect(listed.stdout.contains("interrupted"))
        #expect(listed.stdout.contains("succeeded (completes \(killed.id))"))
        let shown = try await MailroomBinary.run(["show", killed.id], host: host)
        #expect(shown.status == 0)
        #expect(shown.stdout.contains("result    interrupted"))
        #expect(shown.stdout.contains("container.create \(front)"))
        let json = try await MailroomBinary.run(["show", killed.id, "--output", "json"], host: host)
        #expect(json.stdout.contains("\"result\" : \"interrupted\""))
    }
}

@Suite("Apply stopped after a step", .serialized)
struct ApplyInterruptionTests {
    @Test("a rollout stopped during its last health wait ends `interrupted`; the next run, with nothing to change, completes it")
    func stoppedThenCompleted() async throws {
        try await ApplyHarness.with { h in
            let webdav = h.name("mailu-webdav")
            #expect(try await h.apply(h.deployment.standInSpec(), commit: "first").status == .succeeded)
            // webdav turns healthy 12 s after it starts (ample time, also on a loaded machine, for
            // the watcher below); the rollout is stopped while it waits.
            let slow = h.deployment.standInSpec(overrides: ["mailu-webdav": [
                "command": "[sh, -c, \"sleep 12; echo ok > /tmp/ok; exec sleep 100000\"]",
                "healthcheck": "{command: \"test -f /tmp/ok\", interval: disable}",
            ]])
            let stop = LockedValue(false)
            let watcher = Task {
                // Stop once the new webdav runs: its health wait is all that is left.
                while !Task.isCancelled {
                    if (try? await h.containers()[webdav]?.labels["mailroom.commit"]) == "second" {
                        stop.withLock { $0 = true }
                        return
                    }
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            var options = ApplyOptions(healthTimeout: .seconds(30))
            options.interruption = { stop.current ? .shutdown : nil }
            let stopped = try await h.apply(slow, commit: "second", options: options)
            watcher.cancel()
            #expect(stopped.status == .interrupted && stopped.autoRollback == nil)
            #expect(stopped.steps.contains { $0.action == .containerWait && $0.target == webdav && $0.result == .cancelled })
            #expect(try h.applied.commit == "first")  // not recorded as applied before its checks ran
            #expect(h.history.rollouts.last?.status == .interrupted)
            #expect(Journal.stoppedRollout(stateDirectory: h.deployment.host.stateDirectory) == stopped.rollout)

            // Same spec again: the plan has no changes, but the owed health wait and the applied
            // commit are completed by a rollout of their own that says what it completes.
            let completed = try await h.apply(slow, commit: "second", options: ApplyOptions(healthTimeout: .seconds(30)))
            #expect(completed.status == .succeeded && completed.resumed == stopped.rollout)
            #expect(completed.plan?.hasChanges == false)
            #expect(completed.steps.contains { $0.action == .containerWait && $0.target == webdav && $0.result == .ok })
            #expect(!completed.steps.contains { $0.action.rawValue.hasPrefix("container.") && $0.action != .containerWait && $0.action != .containerReload })
            #expect(try h.applied.commit == "second")
            #expect(h.history.rollouts.last?.resumes == stopped.rollout)
            #expect(Journal.stoppedRollout(stateDirectory: h.deployment.host.stateDirectory) == nil)
            // And then nothing is owed: a plain no-op.
            #expect(try await h.apply(slow, commit: "second").status == .noChanges)
        }
    }
}
