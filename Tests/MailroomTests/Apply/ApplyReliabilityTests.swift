import Foundation
import Testing

@testable import MailroomApply
@testable import MailroomHost
@testable import MailroomPlan
@testable import MailroomSupport
@testable import MailroomTestSupport

/// What goes wrong around a rollout rather than in it: a container that crashes seconds after
/// its start, a container a cut-short `podman run` left half-created, Ctrl-C in the terminal.
@Suite("Apply: late crashes, half-created containers, Ctrl-C", .serialized, .tags(.podman))
struct ApplyReliabilityTests {
    @Test(
        "a container without a health check that exits seconds after it started fails its wave; the error has its exit status and log"
    )
    func lateCrashFailsTheWave() async throws {
        try await ApplyHarness.with { h in
            let webdav = h.name("mailu-webdav")
            #expect(try await h.apply(h.deployment.standInSpec()).status == .succeeded)
            let crashes = h.deployment.standInSpec(overrides: [
                "mailu-webdav": ["command": "[sh, -c, \"echo giving up soon; sleep 2; exit 3\"]"]
            ])
            // The settle time only has to outlast the two seconds: the wait ends at the crash.
            var options = ApplyOptions(rollbackOnFailure: true, healthTimeout: .seconds(5))
            options.settleTime = .seconds(60)
            let result = try await h.apply(crashes, options: options)
            #expect(result.status == .failed, "\(result.error ?? "")")
            let wait = try #require(
                result.steps.first { $0.action == .containerWait && $0.target == webdav && $0.result == .failed })
            let detail = wait.detail ?? ""
            #expect(detail.contains("exited with status 3 within 60 s of starting (the settle time)"), "\(detail)")
            #expect(detail.contains("giving up soon"), "\(detail)")
            #expect(result.autoRollback?.status == .succeeded, "\(result.autoRollback?.error ?? "")")
            // Back on the good spec, which stays put: the plan is empty, twice.
            #expect(try await h.apply(h.deployment.standInSpec()).status == .noChanges)
            #expect(try await h.containers()[webdav]?.state == "running")
        }
    }

    @Test("a managed container left created or initialized (a cut-short podman run) is made again, not started")
    func halfCreatedIsRecreated() async throws {
        try await ApplyHarness.with { h in
            let spec = h.deployment.standInSpec()
            let first = try await h.apply(spec)
            #expect(first.status == .succeeded)
            for (container, extra) in [("mailu-webdav", [String]()), ("mailu-redis", ["init"])] {
                let name = h.name(container)
                let run = try #require(
                    first.steps.first { $0.action == .containerCreate && $0.target == name }?.command)
                // The same container as `podman container run` makes, stopped before its start.
                try await TestPodman.run(["rm", "-f", "-t", "0", name])
                let create = Array(run.dropFirst()).map { $0 == "run" ? "create" : $0 }.filter { $0 != "--detach" }
                try await TestPodman.run(create)
                if !extra.isEmpty { try await TestPodman.run(["container"] + extra + [name]) }
                let state = try await h.containers()[name]?.state
                #expect(state == (extra.isEmpty ? "created" : "initialized"))

                let result = try await h.apply(spec)
                #expect(result.status == .succeeded, "\(result.error ?? "")")
                let change = try #require(result.plan?.containers.first { $0.name == name })
                #expect(change.action == .recreate && change.reasons.first?.hasPrefix("half-created") == true)
                #expect(!result.steps.contains { $0.action == .containerStart })
                #expect(try await h.containers()[name]?.state == "running")
            }
        }
    }

    @Test(
        "Ctrl-C during apply: the step in flight finishes, the journal says interrupted, exit 130; podman children are not cut; the next apply completes it"
    )
    func ctrlCStopsAfterTheStep() async throws {
        try await ApplyHarness.with { h in
            let front = h.name("mailu-front")
            let host = h.deployment.host
            try h.deployment.writeSpec(h.deployment.standInSpec(overrides: ["mailu-front": GatedHealthCheck.overrides]))
            // In a session of its own, as a shell runs a command: the signal goes to its
            // process group, as a terminal's Ctrl-C does.
            let cli = Task {
                try await ProcessRunner().run(
                    MailroomBinary.isolatedEnvironment + [
                        "/usr/bin/setsid", "--wait", try MailroomBinary.path, "apply", h.deployment.specDirectory,
                        "--yes", "--health-timeout", "600", "--settle-time", "0.5",
                        "--state-dir", host.stateDirectory, "--units-dir", host.unitsDirectory,
                        "--secrets-file", host.secretsFile,
                    ])
            }
            try await waitFor("mailu-front created and waited for") {
                h.history.rollouts.contains {
                    $0.steps.contains { $0.action == .containerCreate && $0.target == front }
                }
                    ? await GatedHealthCheck.checked(front) : false
            }
            let lockText = try String(contentsOfFile: ApplyLock.path(in: host.stateDirectory), encoding: .utf8)
            let pid = try #require(Int32(lockText.trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(getpgid(pid) == pid && getpgid(pid) != getpgrp())
            kill(-pid, SIGINT)
            let exited = try await cli.value
            #expect(exited.status == 128 + SIGINT, "\(exited.stdoutText)\(exited.stderrText)")
            let stopped = try #require(h.history.rollouts.last)
            #expect(stopped.status == .interrupted, "\(stopped)")
            #expect(stopped.error?.contains("SIGINT") == true, "\(stopped.error ?? "")")
            // Nothing half-made: every container is running or not there yet.
            let states = try await h.containers().values.map(\.state)
            #expect(states.allSatisfy { $0 == "running" }, "\(states)")

            try await GatedHealthCheck.open(front)
            let next = try await MailroomBinary.run(
                ["apply", h.deployment.specDirectory, "--yes", "--settle-time", "0.5"], host: host)
            #expect(next.status == 0, "\(next.stdoutText)\(next.stderrText)")
            #expect(h.history.rollouts.last?.status == .succeeded)
            #expect(try await h.containers().count == 13)
        }
    }
}
