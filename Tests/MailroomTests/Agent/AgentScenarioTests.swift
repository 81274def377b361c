import Foundation
import Logging
import Testing
@testable import MailroomAgent
@testable import MailroomApply
@testable import MailroomHost
@testable import MailroomTestSupport
@testable import MailroomMailu

/// The agent against real git (a local bare repository), real inotify and real podman with the
/// 13 stand-ins. One agent run per scenario, reused across its steps (CI time); the in-process
/// harness is ``AgentHarness``.
@Suite("Agent with real git, inotify and podman", .serialized, .tags(.podman, .git))
struct AgentScenarioTests {
    @Test("push converges; webhook 401/202; override edit recreates only its container; rm -f heals; revert; bad commit refused")
    func lifecycle() async throws {
        try await AgentHarness.with(spec: { $0.standInSpec() }) { a in
            // First reconcile: the initial commit, 13 containers.
            let first = try a.repo.head()
            try await a.waitApplied(first)
            var containers = try await a.containers()
            #expect(containers.count == 13)
            #expect(containers.values.allSatisfy { $0.state == "running" && $0.labels["mailroom.commit"] == first })

            // Webhook: a bad or missing signature is 401 and fetches nothing; a good one is 202.
            let body = Data(#"{"ref":"refs/heads/main"}"#.utf8)
            let bad = try await AgentClient.send(host: "127.0.0.1", port: a.port, method: "POST", path: "/webhook",
                                                 headers: ["X-Hub-Signature-256": "sha256=" + String(repeating: "0", count: 64)], body: body)
            #expect(bad.status == 401)
            let missing = try await AgentClient.send(host: "127.0.0.1", port: a.port, method: "POST", path: "/webhook", body: body)
            #expect(missing.status == 401)
            let signature = WebhookSignature(secret: Data(a.secret.utf8)).sign(body)
            let good = try await AgentClient.send(host: "127.0.0.1", port: a.port, method: "POST", path: "/webhook",
                                                  headers: ["X-Hub-Signature-256": signature], body: body)
            #expect(good.status == 202)

            // An override file edit recreates mailu-smtp and nothing else.
            let ids = containers.mapValues(\.id)
            let overrides = a.deployment.root + "/mailu/overrides/postfix"
            try FileManager.default.createDirectory(atPath: overrides, withIntermediateDirectories: true)
            try "smtpd_banner = test\n".write(toFile: overrides + "/postfix.cf", atomically: true, encoding: .utf8)
            try await waitFor("mailu-smtp recreated") {
                let now = try await a.containers()
                return now[a.name("mailu-smtp")].map { $0.id != ids[a.name("mailu-smtp")] && $0.state == "running" } ?? false
            }
            try await waitFor("idle") { !(try await a.status().reconciling) }
            containers = try await a.containers()
            let recreated = containers.filter { ids[$0.key] != $0.value.id }.map(\.key)
            #expect(recreated == [a.name("mailu-smtp")])

            // podman rm -f of a managed container: the agent puts it back.
            try await TestPodman.run(["rm", "-f", "-t", "0", a.name("mailu-webdav")])
            try await waitFor("mailu-webdav back") {
                try await a.containers()[a.name("mailu-webdav")]?.state == "running"
            }
            try await waitFor("drift counted") {
                let metrics = try await TestHTTP.get(URL(string: "http://127.0.0.1:\(a.port)/metrics")!)
                return String(decoding: metrics, as: UTF8.self).contains("mailroom_drift_corrections_total 2\n")
            }

            let webdavHash = try await a.containers()[a.name("mailu-webdav")]?.labels["mailroom.config-hash"]
            #expect(webdavHash != nil)
            // Self-heal budget (2 here): a second put-back, then the third removal is left alone.
            try await TestPodman.run(["rm", "-f", "-t", "0", a.name("mailu-webdav")])
            try await waitFor("mailu-webdav back again") {
                try await a.containers()[a.name("mailu-webdav")]?.state == "running"
            }
            try await waitFor("idle") { !(try await a.status().reconciling) }
            try await TestPodman.run(["rm", "-f", "-t", "0", a.name("mailu-webdav")])
            try await waitFor("mailu-webdav degraded") { try await a.status().degraded == [a.name("mailu-webdav")] }
            try await Task.sleep(for: .seconds(1))
            #expect(try await a.containers()[a.name("mailu-webdav")] == nil)
            // A resync leaves it alone too.
            try await TestHTTP.post(URL(string: "http://127.0.0.1:\(a.port)/resync")!)
            try await Task.sleep(for: .milliseconds(500))
            try await waitFor("idle") { !(try await a.status().reconciling) }
            #expect(try await a.containers()[a.name("mailu-webdav")] == nil)

            // A push changing one container's env converges (and ends the degraded state);
            // its revert restores the first state.
            let changed = try a.repo.commitAndPush(
                ["mailroom.yaml": a.deployment.standInSpec(overrides: ["mailu-webdav": ["env": "{FEATURE: \"on\"}"]])], message: "webdav feature")
            try await a.waitApplied(changed)
            #expect(try await a.containers()[a.name("mailu-webdav")]?.labels["mailroom.config-hash"] != webdavHash)
            #expect(try await a.status().degraded.isEmpty)
            try a.repo.git("revert", "--no-edit", "HEAD")
            try a.repo.git("push", "--quiet", "origin", "main")
            let reverted = try a.repo.head()
            try await a.waitApplied(reverted)
            #expect(try await a.containers()[a.name("mailu-webdav")]?.labels["mailroom.config-hash"] == webdavHash)
            let rollouts = a.history.rollouts.filter { $0.status == .succeeded }.compactMap(\.commit)
            #expect(rollouts.contains(changed) && rollouts.contains(reverted))

            // A bad commit (invalid spec) is refused; the host keeps running and it is not retried.
            let before = try await a.containers().mapValues(\.id)
            let broken = try a.repo.commitAndPush(["mailroom.yaml": "prefix: [this is not a spec\n"], message: "broken")
            try await waitFor("refusal") { try await a.status().badCommit == broken }
            let status = try await a.status()
            #expect(status.appliedCommit == reverted)
            #expect(status.lastRollout?.status == "refused")
            #expect(a.history.rollouts.last?.status == .refused && a.history.rollouts.last?.commit == broken)
            let refusals = a.history.rollouts.filter { $0.status == .refused }.count
            // A resync does not retry it: the host stays at the last good commit.
            try await TestHTTP.post(URL(string: "http://127.0.0.1:\(a.port)/resync")!)
            try await Task.sleep(for: .milliseconds(500))
            try await waitFor("idle") { !(try await a.status().reconciling) }
            #expect(a.history.rollouts.filter { $0.status == .refused }.count == refusals)
            let after = try await a.containers()
            #expect(after.mapValues(\.id) == before)
            #expect(after.values.allSatisfy { $0.state == "running" })

            // mailroom suspend: nothing is put back; `mailroom status` says so; resume heals.
            let suspend = try await MailroomBinary.run(["suspend", "--reason", "test"], host: a.deployment.host)
            #expect(suspend.status == 0, "\(suspend.stderrText)")
            try await TestHTTP.post(URL(string: "http://127.0.0.1:\(a.port)/resync")!)
            try await waitFor("suspended") { try await a.status().suspended }
            try await TestPodman.run(["rm", "-f", "-t", "0", a.name("mailu-imap")])
            try await Task.sleep(for: .seconds(1))
            #expect(try await a.containers()[a.name("mailu-imap")] == nil)
            let shown = try await ProcessRunner().run([try MailroomBinary.path, "status", "--listen", "127.0.0.1:\(a.port)"])
            #expect(shown.status == 0 && shown.stdoutText.contains("sync:       suspended"), "\(shown.stdoutText)\(shown.stderrText)")
            #expect(shown.stdoutText.contains("refused:    \(broken.prefix(12))"))
            let json = try await ProcessRunner().run([try MailroomBinary.path, "status", "--listen", "127.0.0.1:\(a.port)", "--output", "json"])
            #expect(try AgentStatus.decode(json.stdout).suspended)
            let resume = try await ProcessRunner().run([try MailroomBinary.path, "resume", "--state-dir", a.deployment.host.stateDirectory,
                                                        "--listen", "127.0.0.1:\(a.port)"])
            #expect(resume.status == 0 && resume.stdoutText.contains("resyncing"), "\(resume.stdoutText)\(resume.stderrText)")
            try await waitFor("mailu-imap back after resume") {
                try await a.containers()[a.name("mailu-imap")]?.state == "running"
            }
        }
    }

    @Test("--dry-run: journals the plan it would apply in dry-run.jsonl and changes nothing")
    func dryRun() async throws {
        try await TestPodman.ensureImages()
        let deployment = try await TestDeployment.make("agent-dry")
        let repo = try ScratchRepository(files: ["mailroom.yaml": deployment.standInSpec()])
        defer { repo.remove() }
        var config = deployment.agentConfiguration(repository: repo.origin)
        config.dryRun = true
        let podman = try TestPodman.podman()
        let agent = try TestAgent.make(config, logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }))
        let task = Task { try await agent.run() }
        defer { task.cancel() }
        let plans = deployment.host.stateDirectory + "/dry-run.jsonl"
        do {
            try await waitFor("a dry-run plan") { FileManager.default.fileExists(atPath: plans) }
            let line = try #require(String(decoding: FileManager.default.contents(atPath: plans) ?? Data(), as: UTF8.self).split(separator: "\n").first)
            #expect(line.contains(#""commit":"\#(try repo.head())""#))
            #expect(line.contains(#""create":13"#))
            #expect(try await podman.listContainers().filter { $0.name.hasPrefix(deployment.prefix) }.isEmpty)
            #expect(!FileManager.default.fileExists(atPath: Journal.path(in: deployment.host.stateDirectory)))
            #expect(await agent.reconciler.status.dryRun)
        } catch {
            task.cancel()
            _ = try? await task.value
            await deployment.cleanup()
            throw error
        }
        task.cancel()
        _ = try? await task.value
        await deployment.cleanup()
    }

    @Test("SIGTERM mid-rollout: the agent stops after the current step, ends the journal record, exits 0; the next start completes it")
    func sigterm() async throws {
        try await TestPodman.ensureImages()
        let deployment = try await TestDeployment.make("agent-term")
        let repo = try ScratchRepository(files: ["mailroom.yaml": deployment.standInSpec(overrides: ["mailu-front": [
            // Healthy after 4 s: SIGTERM lands while the rollout waits for it.
            "command": "[sh, -c, \"sleep 4; echo ok > /tmp/ok; exec sleep 100000\"]",
            "healthcheck": "{command: \"test -f /tmp/ok\", interval: disable}",
        ]])])
        let notifyPath = deployment.root + "/notify.sock"
        let notifySocket = try NotifyListener(path: notifyPath)
        var agent: ChildAgent?
        defer {
            agent?.kill9()
            notifySocket.close()
            repo.remove()
        }
        let state = deployment.host.stateDirectory
        let log = deployment.root + "/agent.log"
        func agentLog() -> String {
            String([log, log + ".2"].map { String(decoding: FileManager.default.contents(atPath: $0) ?? Data(), as: UTF8.self) }.joined().suffix(3000))
        }
        do {
            let config = deployment.root + "/agent.yaml"
            let port = deployment.portBase + 5
            try """
                repository: \(repo.origin)
                state-dir: \(state)
                units-dir: \(deployment.host.unitsDirectory)
                secrets-file: \(deployment.host.secretsFile)
                listen: 127.0.0.1:\(port)
                health-timeout: 30s
                """.write(toFile: config, atomically: true, encoding: .utf8)
            /// SIGTERM, then the exit status within `limit` (nil: still running).
            func terminate(within limit: Duration) async -> Int32? {
                let status = await agent?.terminate(timeout: limit)
                if status != nil { agent = nil }
                return status
            }

            agent = try ChildAgent.start(config: config, log: log, environment: ["NOTIFY_SOCKET": notifyPath])
            // Wait until the rollout has started and mailu-front waits to be healthy.
            try await waitFor("rollout start") {
                let history = RolloutHistory.load(stateDirectory: state)
                guard history.rollouts.count == 1, history.rollouts[0].status == nil else { return false }
                return try await TestPodman.podman().listContainers().contains { $0.name == deployment.prefix + "mailu-front" }
            }
            #expect(notifySocket.receive() == nil)  // not ready before the first reconcile
            // Well before mailu-front turns healthy: the wait ends, no later wave starts.
            let exit = await terminate(within: .seconds(3))
            #expect(exit.map { ($0 & 0x7f) == 0 && ($0 >> 8) & 0xff == 0 } == true, "exit status \(String(describing: exit)); log:\n\(agentLog())")
            var history = RolloutHistory.load(stateDirectory: state)
            #expect(history.rollouts.count == 1)
            let stopped = try #require(history.rollouts.first)
            #expect(stopped.status == .interrupted && (stopped.error ?? "").contains("SIGTERM"), "\(stopped)")
            #expect(stopped.steps.contains { $0.action == "container.wait" && $0.target == deployment.prefix + "mailu-front" && $0.result == .cancelled })
            #expect(!stopped.steps.contains { $0.result == .failed })
            #expect(Journal.unfinishedRollout(stateDirectory: state) == nil)
            let created = try await TestPodman.podman().listContainers().filter { $0.name.hasPrefix(deployment.prefix) }
            #expect(created.count < 13, "later waves must not start after SIGTERM")
            #expect(notifySocket.receive(timeout: .seconds(2))?.text == "READY=1")

            // The next start re-plans and completes the rollout.
            agent = try ChildAgent.start(config: config, log: log + ".2")
            let head = try repo.head()
            try await waitFor("the restarted agent converges") {
                let status = try? AgentStatus.decode(try await TestHTTP.get(URL(string: "http://127.0.0.1:\(port)/status")!))
                return status?.appliedCommit == head && status?.reconciling == false
            }
            history = RolloutHistory.load(stateDirectory: state)
            #expect(history.rollouts.map(\.status) == [.interrupted, .succeeded])
            #expect(try await TestPodman.podman().listContainers().filter { $0.name.hasPrefix(deployment.prefix) && $0.state == "running" }.count == 13)
            // Idle: SIGTERM exits at once.
            let idleExit = await terminate(within: .seconds(3))
            #expect(idleExit == 0, "log:\n\(agentLog())")
        } catch {
            await deployment.cleanup()
            throw error
        }
        await deployment.cleanup()
    }
}
