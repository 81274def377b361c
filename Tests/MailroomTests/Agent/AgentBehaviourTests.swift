import Foundation
import Testing

@testable import MailroomAgent
@testable import MailroomApply
@testable import MailroomTestSupport

/// The agent's behaviours of issue 5 end to end: real git, inotify and podman with the 13
/// stand-ins; the CLI and the agent as child processes where signals and sd_notify matter.
/// The only fake is systemd's notify socket (``NotifyListener``): systemd is not PID 1 here.
/// A time limit per test, so that a hang fails the run: far above what any of them takes on a
/// loaded machine (each wait inside is bounded by minutes).
@Suite(
    "Agent behaviours: restore, pin, SIGHUP, watchdog, rollback, supersede", .serialized, .tags(.podman, .git),
    .timeLimit(.minutes(30)))
struct AgentBehaviourTests {
    typealias Running = AgentHarness.Running

    /// Steps that change a container (a reload is not one).
    static let containerChanges: Set<StepAction> = [
        .containerCreate, .containerRecreate, .containerStart, .containerRemove, .containerRestart,
    ]

    /// mailu-webdav with a health check that never passes on its own (``GatedHealthCheck``).
    static let webdavUnhealthy = ["mailu-webdav": GatedHealthCheck.overrides]
    /// mailu-webdav with a health check that passes at its first run.
    static let webdavHealthy = ["mailu-webdav": GatedHealthCheck.alwaysHealthy]

    /// Rollouts journaled after the first `count`.
    static func rollouts(_ a: Running, after count: Int) -> [RolloutSummary] {
        Array(a.history.rollouts.dropFirst(count))
    }

    // MARK: - 1. Generated files

    @Test(
        "a hand-edited mailu.env and Caddy site file are put back; nothing is recreated, Caddy reloads; journal and status show it"
    )
    func generatedFilesRestored() async throws {
        try await AgentHarness.with(spec: { $0.standInSpec() }, label: "agent-files") { a in
            let first = try a.repo.head()
            try await a.waitApplied(first)
            let ids = try await a.containers().mapValues(\.id)
            #expect(ids.count == 13)

            // Step 1: mailu.env edited in place, as `echo >>` does. The containers read it only at
            // start, so they still run with the rendered content: putting it back recreates nothing.
            let env = a.deployment.root + "/mailu/mailu.env"
            let renderedEnv = try #require(FileManager.default.contents(atPath: env))
            var journaled = a.history.rollouts.count
            let handle = try #require(FileHandle(forWritingAtPath: env))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data("DEBUG=true\n".utf8))
            try handle.close()
            try await waitFor("mailu.env restored") { FileManager.default.contents(atPath: env) == renderedEnv }
            try await waitFor("idle") { !(try await a.status().reconciling) }
            let envRollouts = Self.rollouts(a, after: journaled)
            #expect(envRollouts.count == 1, "\(envRollouts.map { "\($0.status?.rawValue ?? "-") \($0.changes)" })")
            let envSteps = envRollouts.flatMap(\.steps)
            #expect(
                envRollouts.allSatisfy {
                    $0.status == .succeeded && $0.commit == first && $0.trigger?.rawValue == "agent-files"
                })
            #expect(envSteps.contains { $0.action == .fileWrite && $0.target == env && $0.result == .ok })
            #expect(
                !envSteps.contains { Self.containerChanges.contains($0.action) || $0.action == .containerReload },
                "\(envSteps.map { "\($0.action) \($0.target)" })")
            #expect((try FileManager.default.attributesOfItem(atPath: env)[.posixPermissions] as? Int) == 0o600)
            var status = try await a.status()
            #expect(status.appliedCommit == first)
            #expect(status.lastRollout?.rollout == envRollouts.first?.id)
            #expect(status.lastRollout?.trigger == "agent-files" && status.lastRollout?.status == "succeeded")
            #expect(try await a.containers().mapValues(\.id) == ids)

            // Step 2: a Caddy site file replaced by an editor (write and rename): put back, and Caddy,
            // which reads it without a restart, reloads; caddy2 itself is not recreated.
            let site = a.deployment.root + "/caddy2/config/site/mail.example.com.Caddyfile"
            let renderedSite = try #require(FileManager.default.contents(atPath: site))
            journaled = a.history.rollouts.count
            try "mail.example.com {\n\trespond \"edited by hand\"\n}\n".write(
                toFile: site, atomically: true, encoding: .utf8)
            try await waitFor("the Caddy site restored") { FileManager.default.contents(atPath: site) == renderedSite }
            try await waitFor("idle") { !(try await a.status().reconciling) }
            let siteRollouts = Self.rollouts(a, after: journaled)
            #expect(siteRollouts.count == 1)
            let siteSteps = siteRollouts.flatMap(\.steps)
            #expect(siteSteps.contains { $0.action == .fileWrite && $0.target == site && $0.result == .ok })
            #expect(
                siteSteps.filter { $0.action == .containerReload }.map { "\($0.target) \($0.result)" } == [
                    "\(a.name("caddy2")) ok"
                ])
            #expect(
                !siteSteps.contains { Self.containerChanges.contains($0.action) },
                "\(siteSteps.map { "\($0.action) \($0.target)" })")
            status = try await a.status()
            #expect(
                status.lastRollout?.rollout == siteRollouts.first?.id && status.lastRollout?.trigger == "agent-files")
            #expect(try await a.containers().mapValues(\.id) == ids)
            let metrics = await a.agent.reconciler.metrics
            #expect(metrics.driftCorrections == 2)
        }
    }

    // MARK: - 2. Pin after rollback

    @Test(
        "mailroom rollback under a running agent pins the earlier commit; a resync keeps it; a new commit ends the pin")
    func pinAfterRollback() async throws {
        try await AgentHarness.with(spec: { $0.standInSpec() }, label: "agent-pin") { a in
            let first = try a.repo.head()
            try await a.waitApplied(first)
            let webdav = a.name("mailu-webdav")
            let firstHash = try #require(try await a.containers()[webdav]?.labels["mailroom.config-hash"])
            let second = try a.repo.commitAndPush(
                ["mailroom.yaml": a.deployment.standInSpec(overrides: ["mailu-webdav": ["env": "{FEATURE: \"on\"}"]])],
                message: "webdav feature")
            try await a.waitApplied(second)
            #expect(try await a.containers()[webdav]?.labels["mailroom.commit"] == second)

            // Step 1: `mailroom rollback`, against the agent's state directory, while the agent runs.
            // The agent holds the apply lock for every reconcile, even one that changes nothing
            // (podman's events of the last rollout can come late): 75 means "try again".
            var rollback = try await MailroomBinary.run(["rollback", "--to", first, "--yes"], host: a.deployment.host)
            let deadline = ContinuousClock.now + .minutes(5)
            while rollback.status == 75, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                rollback = try await MailroomBinary.run(["rollback", "--to", first, "--yes"], host: a.deployment.host)
            }
            #expect(rollback.status == 0, "\(rollback.stdoutText)\(rollback.stderrText)")
            #expect(rollback.stderrText.contains("Pinned at \(first.prefix(12))"), "\(rollback.stderrText)")
            let control = AgentControl.load(stateDirectory: a.deployment.host.stateDirectory)
            #expect(control.pinnedCommit == first && control.branchTipAtPin == second)
            // The host went back to the first commit.
            var containers = try await a.containers()
            #expect(containers[webdav]?.labels["mailroom.config-hash"] == firstHash)
            #expect(containers[webdav]?.labels["mailroom.commit"] == first)
            #expect(containers.count == 13 && containers.values.allSatisfy { $0.state == "running" })
            let pinned = containers.mapValues(\.id)
            let journaled = a.history.rollouts.count
            #expect(a.history.rollouts.last?.trigger == .rollback && a.history.rollouts.last?.status == .succeeded)

            // Step 2: the agent says so (once it has reconciled: the rollback's own podman events, or this resync).
            try await a.resync()
            var status = try await a.status()
            #expect(status.suspended && status.pinnedCommit == first)
            #expect(status.sync.hasPrefix("pinned at \(first.prefix(12))"))
            #expect(status.appliedCommit == first)
            // The last rollout is the rollback, which the agent did not run itself.
            #expect(
                status.lastRollout?.trigger == "rollback" && status.lastRollout?.commit == first
                    && status.lastRollout?.rollout == a.history.rollouts.last?.id,
                "\(String(describing: status.lastRollout))")
            let text = try await MailroomBinary.run(["status", "--listen", "127.0.0.1:\(a.port)"])
            #expect(text.stdoutText.contains("sync:       pinned at \(first.prefix(12))"), "\(text.stdoutText)")
            #expect(text.stdoutText.contains("applied:    \(first.prefix(12))"), "\(text.stdoutText)")
            let json = try await MailroomBinary.run(["status", "--listen", "127.0.0.1:\(a.port)", "--output", "json"])
            let shown = try AgentStatus.decode(json.stdout)
            #expect(shown.suspended && shown.pinnedCommit == first && shown.currentCommit == second)

            // Step 3: a push-free resync does not move it back.
            try await a.resync()
            #expect(try await a.containers().mapValues(\.id) == pinned)
            #expect(a.history.rollouts.count == journaled)

            // Step 4: a new commit ends the pin; the agent converges on it.
            let third = try a.repo.commitAndPush(
                ["mailroom.yaml": a.deployment.standInSpec(overrides: ["mailu-webdav": ["env": "{FEATURE: \"two\"}"]])],
                message: "webdav two")
            try await a.waitApplied(third)
            status = try await a.status()
            #expect(!status.suspended && status.pinnedCommit == nil && status.sync == "syncing")
            #expect(AgentControl.load(stateDirectory: a.deployment.host.stateDirectory) == AgentControl())
            containers = try await a.containers()
            #expect(containers[webdav]?.labels["mailroom.commit"] == third)
            #expect(containers.values.allSatisfy { $0.state == "running" })
            #expect(a.history.rollouts.last?.commit == third && a.history.rollouts.last?.status == .succeeded)
        }
    }

    // MARK: - 3, 4. SIGHUP and the watchdog (a child agent)

    @Test(
        "child agent: READY=1 then WATCHDOG=1 every WATCHDOG_USEC/2; SIGHUP resyncs at once; no WATCHDOG=1 without WATCHDOG_USEC"
    )
    func sighupAndWatchdog() async throws {
        try await TestPodman.ensureImages()
        let deployment = try await TestDeployment.make("agent-hup")
        let repo = try ScratchRepository(files: ["mailroom.yaml": deployment.standInSpec()])
        let listener = try NotifyListener(path: deployment.root + "/notify.sock")
        let notes = NotifyRecorder(listener)
        var child: ChildAgent?
        do {
            let port = deployment.portBase + 5
            // Nothing but SIGHUP resyncs within the test: no polling, no periodic resync.
            let config = deployment.root + "/agent.yaml"
            try """
            repository: \(repo.origin)
            state_dir: \(deployment.host.stateDirectory)
            units_dir: \(deployment.host.unitsDirectory)
            secrets_file: \(deployment.host.secretsFile)
            listen: 127.0.0.1:\(port)
            poll_interval: 10m
            resync_interval: 1h
            health_timeout: 15s
            """.write(toFile: config, atomically: true, encoding: .utf8)
            child = try ChildAgent.start(
                config: config, log: deployment.root + "/agent.log",
                environment: ["NOTIFY_SOCKET": deployment.root + "/notify.sock", "WATCHDOG_USEC": "400000"])
            let agent = child!

            // Step 1: READY=1 after the first reconcile; WATCHDOG=1 keeps coming, every WATCHDOG_USEC/2
            // (200 ms) at most: the agent sleeps that long between pings. The times are the
            // kernel's, taken when the agent sent each datagram, so a slow reader (or a slow
            // machine, which only spaces the pings out) cannot bring two closer together.
            let ready = try await Self.waitReady(agent, notes, timeout: .minutes(5))
            try await waitFor("three WATCHDOG=1 after READY=1") {
                notes.all.filter { $0.text == "WATCHDOG=1" && $0.sent > ready.sent }.count >= 3
            }
            let pings = notes.all.filter { $0.text == "WATCHDOG=1" }.map(\.sent)
            let gaps = zip(pings.dropFirst(), pings).map { $0.timeIntervalSince($1) }
            #expect(gaps.allSatisfy { $0 >= 0.15 }, "pings closer than WATCHDOG_USEC/2 (0.2 s): \(gaps)")
            #expect(Set(notes.all.map(\.text)) == ["READY=1", "WATCHDOG=1"])

            // Step 2: SIGHUP: an immediate full resync (its own trigger in the metrics; nothing else
            // resyncs here), and the agent keeps running. (A drift that no podman event reports
            // cannot be made reliably: podman 4.3 may report a renamed container's death under
            // its old name.)
            let status = {
                try AgentStatus.decode(try await TestHTTP.get(URL(string: "http://127.0.0.1:\(port)/status")!))
            }
            let first = try repo.head()
            try await waitFor("idle at the first commit") {
                let s = try await status()
                return s.appliedCommit == first && !s.reconciling
            }
            #expect(try await metricValue(port: port, #"mailroom_reconciles_total{trigger="resync"}"#) == 0)
            let journaled = RolloutHistory.load(stateDirectory: deployment.host.stateDirectory).rollouts.count
            kill(agent.pid, SIGHUP)
            try await waitFor("the SIGHUP resync") {
                try await metricValue(port: port, #"mailroom_reconciles_total{trigger="resync"}"#) == 1
            }
            try await waitFor("idle") { !(try await status().reconciling) }
            // In sync already: the resync changed nothing and journalled nothing.
            #expect(
                RolloutHistory.load(stateDirectory: deployment.host.stateDirectory).rollouts.count == journaled,
                "log:\n\(agent.logText.suffix(3000))")
            #expect(agent.stillRunning)

            let exit = await agent.terminate()
            #expect(exit == 0, "exit status \(exit.map(String.init) ?? "none"); log:\n\(agent.logText.suffix(3000))")
            if exit != nil { child = nil }

            // Step 3: the same host again, without WATCHDOG_USEC: READY=1 (nothing to change), no pings.
            // Its listen address is free again although the containers the first run started
            // still run (their conmon once inherited the listening socket).
            let seen = notes.all.count
            child = try ChildAgent.start(
                config: config, log: deployment.root + "/agent2.log",
                environment: ["NOTIFY_SOCKET": deployment.root + "/notify.sock"])
            _ = try await Self.waitReady(child!, notes, after: seen, timeout: .minutes(5))
            #expect(
                String(
                    decoding: try await TestHTTP.get(URL(string: "http://127.0.0.1:\(port)/healthz")!), as: UTF8.self)
                    == "ok\n")
            try await Task.sleep(for: .milliseconds(1500))
            #expect(notes.since(seen).map(\.text) == ["READY=1"])
            let again = await child!.terminate()
            #expect(again == 0, "log:\n\(child!.logText.suffix(3000))")
            if again != nil { child = nil }
        } catch {
            if let child {
                let status = await fetchText(URL(string: "http://127.0.0.1:\(deployment.portBase + 5)/status")!)
                Issue.record("status: \(status ?? "-")\nlog:\n\(child.logText.suffix(4000))")
            }
            child?.kill9()
            await notes.stop()
            listener.close()
            repo.remove()
            await deployment.cleanup()
            throw error
        }
        child?.kill9()
        await notes.stop()
        listener.close()
        repo.remove()
        await deployment.cleanup()
    }

    /// Waits for READY=1 among the datagrams after index `after`; fails early, with the log, if the agent exits.
    static func waitReady(_ agent: ChildAgent, _ notes: NotifyRecorder, after: Int = 0, timeout: Duration) async throws
        -> NotifyListener.Datagram
    {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let ready = notes.since(after).first(where: { $0.text == "READY=1" }) { return ready }
            guard agent.stillRunning else {
                throw TestSetupError("the agent exited; log:\n\(agent.logText.suffix(3000))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("no READY=1 within \(timeout); log:\n\(agent.logText.suffix(3000))")
        throw TestSetupError("no READY=1")
    }

    // MARK: - 5. Runtime rollback

    @Test(
        "a commit whose container never turns healthy fails, is rolled back automatically, is not retried; a newer commit applies"
    )
    func failedRolloutRollsBack() async throws {
        try await AgentHarness.with(
            spec: { $0.standInSpec() }, label: "agent-rb", configure: { $0.healthTimeout = .seconds(3) }
        ) { a in
            let first = try a.repo.head()
            try await a.waitApplied(first)
            let good = try #require(a.history.lastSucceeded())
            let webdav = a.name("mailu-webdav")
            let goodHash = try #require(try await a.containers()[webdav]?.labels["mailroom.config-hash"])
            let journaled = a.history.rollouts.count

            // Step 1: a commit whose webdav never turns healthy fails and is rolled back.
            let bad = try a.repo.commitAndPush(
                ["mailroom.yaml": a.deployment.standInSpec(overrides: Self.webdavUnhealthy)], message: "never healthy")
            try await waitFor("the failure recorded") {
                let s = try await a.status()
                return s.badCommit == bad && !s.reconciling
            }
            // Journal: the failed rollout, then the automatic rollback to the good one, which succeeded.
            let rollouts = Self.rollouts(a, after: journaled)
            #expect(
                rollouts.map { "\($0.commit ?? "-") \($0.trigger?.rawValue ?? "-") \($0.status?.rawValue ?? "-")" }
                    == ["\(bad) agent-git failed", "\(first) auto-rollback succeeded"])
            #expect(
                rollouts.first?.steps.contains {
                    $0.action == .containerWait && $0.target == webdav && $0.result == .failed
                        && $0.detail?.contains("still unhealthy") == true
                } == true)
            #expect(rollouts.last?.rollbackTo == good.id)
            #expect(Journal.unfinishedRollout(stateDirectory: a.deployment.host.stateDirectory) == nil)
            var status = try await a.status()
            #expect(status.appliedCommit == first)
            #expect(
                status.lastRollout?.status == "failed" && status.lastRollout?.commit == bad
                    && status.lastRollout?.rolledBackTo == good.id)
            var containers = try await a.containers()
            #expect(containers[webdav]?.labels["mailroom.config-hash"] == goodHash)
            #expect(containers.count == 13 && containers.values.allSatisfy { $0.state == "running" })

            // Step 2: a resync does not try the bad commit again.
            let settled = a.history.rollouts.count
            try await a.resync()
            #expect(a.history.rollouts.count == settled)
            #expect(try await a.status().badCommit == bad)

            // Step 3: a restarted agent remembers the bad commit (from the journal) and does not
            // recreate webdav with the failing settings again.
            a.task.cancel()
            _ = try? await a.task.value
            let ids = try await a.containers().mapValues(\.id)
            let restarted = try await AgentHarness.start(repo: a.repo, deployment: a.deployment) {
                $0.healthTimeout = .seconds(3)
            }
            defer { restarted.task.cancel() }
            try await waitFor("the restarted agent's first reconcile") {
                let s = try await restarted.status()
                return s.lastReconcile != nil && !s.reconciling
            }
            status = try await restarted.status()
            #expect(status.badCommit == bad && status.appliedCommit == first)
            #expect(a.history.rollouts.count == settled)
            #expect(try await a.containers().mapValues(\.id) == ids)

            // Step 4: a newer, good commit applies; the bad one is history.
            let fixed = try a.repo.commitAndPush(
                ["mailroom.yaml": a.deployment.standInSpec(overrides: Self.webdavHealthy)], message: "healthy")
            try await restarted.waitApplied(fixed)
            status = try await restarted.status()
            #expect(status.badCommit == nil)
            #expect(status.lastRollout?.status == "succeeded" && status.lastRollout?.commit == fixed)
            containers = try await a.containers()
            #expect(
                containers[webdav]?.labels["mailroom.commit"] == fixed
                    && containers[webdav]?.status.contains("(healthy)") == true)
        }
    }

    // MARK: - 6. A newer commit supersedes the health waits

    /// "Promptly" is "before its health timeout could end it": A's webdav never turns healthy,
    /// and the 10-minute timeout outlasts the wait for B to be applied (5 minutes).
    @Test("a newer commit ends an older rollout's health wait, without a rollback; the host ends on the newer commit")
    func newerCommitSupersedes() async throws {
        let healthTimeout: Duration = .minutes(10)
        try await AgentHarness.with(
            spec: { $0.standInSpec() }, label: "agent-sup", configure: { $0.healthTimeout = healthTimeout }
        ) { a in
            let first = try a.repo.head()
            try await a.waitApplied(first)
            let webdav = a.name("mailu-webdav")
            let journaled = a.history.rollouts.count

            // Step 1: A: webdav never healthy on its own. Wait until A's rollout waits for it: the new
            // webdav runs and a health check has run in it.
            let slow = try a.repo.commitAndPush(
                ["mailroom.yaml": a.deployment.standInSpec(overrides: Self.webdavUnhealthy)], message: "slow")
            try await waitFor("A's rollout waiting for mailu-webdav") {
                guard let r = Self.rollouts(a, after: journaled).first, r.commit == slow, r.status == nil else {
                    return false
                }
                return await GatedHealthCheck.checked(webdav)
            }
            // Step 2: B fixes it; A's wait ends for it, without a rollback.
            let fixed = try a.repo.commitAndPush(
                ["mailroom.yaml": a.deployment.standInSpec(overrides: Self.webdavHealthy)], message: "fixed")
            try await a.waitApplied(fixed)

            let rollouts = Self.rollouts(a, after: journaled)
            #expect(
                rollouts.map { "\($0.commit ?? "-") \($0.status?.rawValue ?? "-")" } == [
                    "\(slow) interrupted", "\(fixed) succeeded",
                ])
            let superseded = try #require(rollouts.first)
            #expect(superseded.ended != nil)
            #expect(
                (superseded.durationMs ?? .max) < Int(healthTimeout.components.seconds) * 1000,
                "A ran to its health timeout instead of ending for B")
            #expect(
                superseded.steps.contains {
                    $0.action == .containerWait && $0.target == webdav && $0.result == .cancelled
                        && $0.detail?.contains("supersedes") == true
                }, "\(superseded.steps.map { "\($0.action) \($0.target) \($0.detail ?? "")" })")
            #expect(
                superseded.error?.contains("newer commit") == true
                    && !superseded.steps.contains { $0.result == .failed })
            #expect(!a.history.rollouts.contains { $0.trigger == .autoRollback })
            #expect(await a.agent.reconciler.metrics.rollouts.keys.filter { $0.hasPrefix("auto-rollback") }.isEmpty)
            #expect(Journal.unfinishedRollout(stateDirectory: a.deployment.host.stateDirectory) == nil)
            let status = try await a.status()
            #expect(status.appliedCommit == fixed && status.currentCommit == fixed && status.badCommit == nil)
            let containers = try await a.containers()
            #expect(
                containers[webdav]?.labels["mailroom.commit"] == fixed
                    && containers[webdav]?.status.contains("(healthy)") == true)
            #expect(containers.count == 13 && containers.values.allSatisfy { $0.state == "running" })
        }
    }
}
