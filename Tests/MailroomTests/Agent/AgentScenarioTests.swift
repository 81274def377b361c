import Foundation
import Logging
import Testing

@testable import MailroomAgent
@testable import MailroomApply
@testable import MailroomHost
@testable import MailroomMailu
@testable import MailroomTestSupport

/// The agent against real git (a local bare repository), real inotify and real podman with the
/// 13 stand-ins. One agent run per scenario, reused across its steps (CI time); the in-process
/// harness is ``AgentHarness``.
@Suite("Agent with real git, inotify and podman", .serialized, .tags(.podman, .git))
struct AgentScenarioTests {
    @Test(
        "push converges; webhook 401/202; override edit recreates only its container; rm -f heals; revert; bad commit refused"
    )
    func lifecycle() async throws {
        try await AgentHarness.with(spec: { $0.standInSpec() }) { a in
            try await Self.firstReconcile(a)
            try await Self.webhook(a)
            try await Self.overrideEditRecreatesItsReader(a)
            let webdavHash = try await Self.removedContainerPutBack(a)
            try await Self.selfHealBudgetSpent(a)
            let reverted = try await Self.pushThenRevert(a, webdavHash: webdavHash)
            let broken = try await Self.badCommitRefused(a, lastGood: reverted)
            try await Self.suspendThenResume(a, refused: broken)
            try await Self.revertOfBadCommitIsApplied(a, broken: broken)
            try await Self.ownWritesAreNotOutsideChanges(a)
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
            let line = try #require(
                String(decoding: FileManager.default.contents(atPath: plans) ?? Data(), as: UTF8.self).split(
                    separator: "\n"
                ).first)
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

    @Test(
        "SIGTERM mid-rollout: the agent stops after the current step, ends the journal record, exits 0; the next start completes it"
    )
    func sigterm() async throws {
        try await TestPodman.ensureImages()
        let deployment = try await TestDeployment.make("agent-term")
        let front = deployment.prefix + "mailu-front"
        // mailu-front (wave 1) passes its health check only once the test opens its gate: the
        // rollout waits for it until then, and SIGTERM lands in that wait.
        let repo = try ScratchRepository(files: [
            "mailroom.yaml": deployment.standInSpec(overrides: ["mailu-front": GatedHealthCheck.overrides])
        ])
        let notify = try NotifyListener(path: deployment.root + "/notify.sock")
        var agent: ChildAgent?
        defer {
            agent?.kill9()
            notify.close()
            repo.remove()
        }
        let state = deployment.host.stateDirectory
        let log = deployment.root + "/agent.log"
        func agentLog() -> String {
            String(
                [log, log + ".2"].map {
                    String(decoding: FileManager.default.contents(atPath: $0) ?? Data(), as: UTF8.self)
                }.joined().suffix(3000))
        }
        /// SIGTERM, then its wait status (nil: it did not exit within minutes).
        func terminate() async -> Int32? {
            let status = await agent?.terminate()
            if status != nil { agent = nil }
            return status
        }
        do {
            let port = deployment.portBase + 5
            // Longer than ChildAgent.terminate waits: only SIGTERM can end the wait in time.
            let config = try deployment.writeAgentConfig(repository: repo.origin, port: port, ["health_timeout: 30m"])

            // Step 1: the first rollout runs until it waits for mailu-front to turn healthy
            // (a health check has run in it).
            agent = try ChildAgent.start(config: config, log: log, environment: ["NOTIFY_SOCKET": notify.path])
            try await waitFor("the first rollout waiting for mailu-front's health") {
                let history = RolloutHistory.load(stateDirectory: state)
                guard history.rollouts.count == 1, history.rollouts[0].status == nil else { return false }
                return await GatedHealthCheck.checked(front)
            }
            #expect(notify.receive() == nil)  // not ready before the first reconcile

            // Step 2: SIGTERM. The wait ends at its next check, the rollout ends `interrupted`,
            // no later wave starts, the agent exits 0.
            let exit = await terminate()
            #expect(
                exit.map { ($0 & 0x7f) == 0 && ($0 >> 8) & 0xff == 0 } == true,
                "exit status \(String(describing: exit)); log:\n\(agentLog())")
            var history = RolloutHistory.load(stateDirectory: state)
            #expect(history.rollouts.count == 1)
            let stopped = try #require(history.rollouts.first)
            #expect(stopped.status == .interrupted && (stopped.error ?? "").contains("SIGTERM"), "\(stopped)")
            #expect(
                stopped.steps.contains { $0.action == .containerWait && $0.target == front && $0.result == .cancelled },
                "\(stopped.steps)")
            #expect(!stopped.steps.contains { $0.result == .failed })
            #expect(Journal.unfinishedRollout(stateDirectory: state) == nil)
            let created = try await TestPodman.podman().listContainers().filter { $0.name.hasPrefix(deployment.prefix) }
            #expect(created.count < 13, "later waves must not start after SIGTERM")
            // Queued before it exited; the bound is for a datagram that never came.
            #expect(notify.receive(timeout: .seconds(60))?.text == "READY=1")

            // Step 3: mailu-front can pass now; the next start re-plans and completes the rollout.
            try await GatedHealthCheck.open(front)
            agent = try ChildAgent.start(config: config, log: log + ".2")
            let head = try repo.head()
            try await waitFor("the restarted agent converges") {
                let status = try? AgentStatus.decode(
                    try await TestHTTP.get(URL(string: "http://127.0.0.1:\(port)/status")!))
                return status?.appliedCommit == head && status?.reconciling == false
            }
            history = RolloutHistory.load(stateDirectory: state)
            #expect(history.rollouts.map(\.status) == [.interrupted, .succeeded])
            #expect(
                try await TestPodman.podman().listContainers().filter {
                    $0.name.hasPrefix(deployment.prefix) && $0.state == "running"
                }.count == 13)

            // Step 4: idle, SIGTERM exits 0.
            let idleExit = await terminate()
            #expect(idleExit == 0, "log:\n\(agentLog())")
        } catch {
            await deployment.cleanup()
            throw error
        }
        await deployment.cleanup()
    }
}

extension AgentScenarioTests {
    typealias Running = AgentHarness.Running

    /// Step 1: the first reconcile applies the initial commit, 13 containers.
    static func firstReconcile(_ a: Running) async throws {
        let first = try a.repo.head()
        try await a.waitApplied(first)
        let containers = try await a.containers()
        #expect(containers.count == 13)
        #expect(containers.values.allSatisfy { $0.state == "running" && $0.labels["mailroom.commit"] == first })
    }

    /// Step 2: a webhook with a bad or missing signature is 401 and fetches nothing; a good one is 202.
    static func webhook(_ a: Running) async throws {
        let body = Data(#"{"ref":"refs/heads/main"}"#.utf8)
        func post(_ headers: [String: String]) async throws -> Int {
            try await AgentClient.send(
                host: "127.0.0.1", port: a.port, method: "POST", path: "/webhook", headers: headers, body: body,
                timeout: TestHTTP.timeout
            ).status
        }
        #expect(try await post(["X-Hub-Signature-256": "sha256=" + String(repeating: "0", count: 64)]) == 401)
        #expect(try await post([:]) == 401)
        #expect(
            try await post(["X-Hub-Signature-256": WebhookSignature(secret: Data(a.secret.utf8)).sign(body)]) == 202)
    }

    /// Step 3: an override file edit recreates mailu-smtp and nothing else.
    static func overrideEditRecreatesItsReader(_ a: Running) async throws {
        let ids = try await a.containers().mapValues(\.id)
        let smtp = a.name("mailu-smtp")
        let overrides = a.deployment.root + "/mailu/overrides/postfix"
        try FileManager.default.createDirectory(atPath: overrides, withIntermediateDirectories: true)
        try "smtpd_banner = test\n".write(toFile: overrides + "/postfix.cf", atomically: true, encoding: .utf8)
        try await waitFor("mailu-smtp recreated") {
            try await a.containers()[smtp].map { $0.id != ids[smtp] && $0.state == "running" } ?? false
        }
        try await waitFor("idle") { !(try await a.status().reconciling) }
        let recreated = try await a.containers().filter { ids[$0.key] != $0.value.id }.map(\.key)
        #expect(recreated == [smtp])
        // podman reports the recreation's removal as events; step 4 checks they were not taken
        // for a change by hand (they come before its own, in podman's order).
    }

    /// Step 4: `podman rm -f` of a managed container: the agent puts it back and counts the
    /// drift. Returns mailu-webdav's config hash.
    static func removedContainerPutBack(_ a: Running) async throws -> String? {
        let webdav = a.name("mailu-webdav")
        try await TestPodman.run(["rm", "-f", "-t", "0", webdav])
        try await waitFor("mailu-webdav back") { try await a.containers()[webdav]?.state == "running" }
        try await waitFor("drift counted") {
            let metrics = try await TestHTTP.get(URL(string: "http://127.0.0.1:\(a.port)/metrics")!)
            return String(decoding: metrics, as: UTF8.self).contains("mailroom_drift_corrections_total 2\n")
        }
        let hash = try await a.containers()[webdav]?.labels["mailroom.config-hash"]
        #expect(hash != nil)
        // One removal by hand, one line: not one per event, and none for step 3's own
        // recreation of mailu-smtp or for this put-back.
        // (podman may report the `died` and the `remove` far enough apart that the first one is
        // all the agent has seen when it logs: either wording, but one line.)
        func byHand() -> [String] {
            (a.logs.lines("Managed container removed by hand") + a.logs.lines("Managed container exited")).map {
                "\($0["container.name"] ?? "-")"
            }
        }
        try await waitFor("the removal logged") { !byHand().isEmpty }
        #expect(byHand() == [webdav])
        // The drift stays reported through a reconcile that changes nothing.
        #expect(try await a.status().drift == [webdav])
        try await a.resync()
        #expect(try await a.status().drift == [webdav])
        return hash
    }

    /// Step 5: the self-heal budget (2 here): a second put-back, then the third removal is left
    /// alone, also by a resync.
    static func selfHealBudgetSpent(_ a: Running) async throws {
        let webdav = a.name("mailu-webdav")
        try await TestPodman.run(["rm", "-f", "-t", "0", webdav])
        try await waitFor("mailu-webdav back again") { try await a.containers()[webdav]?.state == "running" }
        try await waitFor("idle") { !(try await a.status().reconciling) }
        try await TestPodman.run(["rm", "-f", "-t", "0", webdav])
        try await waitFor("mailu-webdav degraded") { try await a.status().degraded == [webdav] }
        #expect(try await a.containers()[webdav] == nil)
        // A resync, run to its end, leaves it alone too.
        try await a.resync()
        #expect(try await a.containers()[webdav] == nil)
    }

    /// Step 6: a push changing one container's env converges (and ends the degraded state); its
    /// revert restores the first state. Returns the revert's commit.
    static func pushThenRevert(_ a: Running, webdavHash: String?) async throws -> String {
        let webdav = a.name("mailu-webdav")
        let changed = try a.repo.commitAndPush(
            ["mailroom.yaml": a.deployment.standInSpec(overrides: ["mailu-webdav": ["env": "{FEATURE: \"on\"}"]])],
            message: "webdav feature")
        try await a.waitApplied(changed)
        #expect(try await a.containers()[webdav]?.labels["mailroom.config-hash"] != webdavHash)
        #expect(try await a.status().degraded.isEmpty)
        try a.repo.git("revert", "--no-edit", "HEAD")
        try a.repo.git("push", "--quiet", "origin", "main")
        let reverted = try a.repo.head()
        try await a.waitApplied(reverted)
        #expect(try await a.containers()[webdav]?.labels["mailroom.config-hash"] == webdavHash)
        let rollouts = a.history.rollouts.filter { $0.status == .succeeded }.compactMap(\.commit)
        #expect(rollouts.contains(changed) && rollouts.contains(reverted))
        return reverted
    }

    /// Step 7: a bad commit (invalid spec) is refused; the host keeps running at `lastGood`, and
    /// a resync does not retry it. Returns the bad commit.
    static func badCommitRefused(_ a: Running, lastGood: String) async throws -> String {
        let before = try await a.containers().mapValues(\.id)
        let broken = try a.repo.commitAndPush(["mailroom.yaml": "prefix: [this is not a spec\n"], message: "broken")
        try await waitFor("refusal") { try await a.status().badCommit == broken }
        let status = try await a.status()
        #expect(status.appliedCommit == lastGood)
        #expect(status.lastRollout?.status == "refused")
        #expect(a.history.rollouts.last?.status == .refused && a.history.rollouts.last?.commit == broken)
        let refusals = a.history.rollouts.filter { $0.status == .refused }.count
        try await a.resync()
        #expect(a.history.rollouts.filter { $0.status == .refused }.count == refusals)
        let after = try await a.containers()
        #expect(after.mapValues(\.id) == before)
        #expect(after.values.allSatisfy { $0.state == "running" })
        return broken
    }

    /// Step 8: `mailroom suspend`: nothing is put back, not even by a resync; `mailroom status`
    /// says so (and names the `refused` commit); `mailroom resume` heals.
    static func suspendThenResume(_ a: Running, refused broken: String) async throws {
        let imap = a.name("mailu-imap")
        let listen = "127.0.0.1:\(a.port)"
        let suspend = try await MailroomBinary.run(
            ["suspend", "--reason", "test"], state: a.deployment.host.stateDirectory)
        #expect(suspend.status == 0, "\(suspend.stderrText)")
        try await a.resync()
        #expect(try await a.status().suspended)
        try await TestPodman.run(["rm", "-f", "-t", "0", imap])
        try await a.resync()
        #expect(try await a.containers()[imap] == nil)
        let shown = try await MailroomBinary.run(["status", "--listen", listen])
        #expect(
            shown.status == 0 && shown.stdoutText.contains("sync:       suspended"),
            "\(shown.stdoutText)\(shown.stderrText)")
        #expect(shown.stdoutText.contains("refused:    \(broken.prefix(12))"))
        let json = try await MailroomBinary.run(["status", "--listen", listen, "--output", "json"])
        #expect(try AgentStatus.decode(json.stdout).suspended)
        let resume = try await MailroomBinary.run([
            "resume", "--state-dir", a.deployment.host.stateDirectory, "--listen", listen,
        ])
        #expect(
            resume.status == 0 && resume.stdoutText.contains("resyncing"), "\(resume.stdoutText)\(resume.stderrText)")
        try await waitFor("mailu-imap back after resume") { try await a.containers()[imap]?.state == "running" }
    }

    /// Step 9: reverting the refused commit ends green: the revert changes nothing on the host,
    /// and is recorded as applied (history, `status`), so the agent no longer waits past the
    /// refused commit.
    static func revertOfBadCommitIsApplied(_ a: Running, broken: String) async throws {
        #expect(try await a.status().badCommit == broken)
        // Step 8's put-back may still be in its settle wait: a push now would supersede it, and
        // the revert's rollout would then complete it instead of changing nothing.
        try await waitFor("idle") { !(try await a.status().reconciling) }
        let ids = try await a.containers().mapValues(\.id)
        try a.repo.git("revert", "--no-edit", "HEAD")
        try a.repo.git("push", "--quiet", "origin", "main")
        let revert = try a.repo.head()
        try await a.waitApplied(revert)
        let status = try await a.status()
        #expect(status.badCommit == nil && status.appliedCommit == revert)
        #expect(status.lastRollout?.commit == revert && status.lastRollout?.status == "no-changes")
        let last = try #require(a.history.rollouts.last)
        #expect(
            last.commit == revert && last.status == .succeeded && last.steps.isEmpty,
            "\(last.steps.map { "\($0.action) \($0.target) \($0.detail ?? "")" })")
        #expect(try await a.containers().mapValues(\.id) == ids)
        let listed = try await MailroomBinary.run(["history"], state: a.deployment.host.stateDirectory)
        let row = listed.stdoutText.split(separator: "\n").last.map(String.init) ?? ""
        #expect(row.contains(last.id) && row.contains("succeeded") && row.hasSuffix("no changes"), "\(row)")
        let shown = try await MailroomBinary.run(["status", "--listen", "127.0.0.1:\(a.port)"])
        #expect(!shown.stdoutText.contains("refused:"), "\(shown.stdoutText)")
    }

    /// Step 10: the agent's own writes of generated files (a new domain's site file and
    /// `mailu.env`) come back through its inotify watch, but are not "Files changed"; a hand
    /// edit of a generated file still is, and is put back.
    static func ownWritesAreNotOutsideChanges(_ a: Running) async throws {
        let seen = a.logs.lines("Files changed").count
        let added = try a.repo.commitAndPush(
            ["mailroom.yaml": a.deployment.standInSpec(domains: ["example.com", "example.org"])], message: "a domain")
        try await a.waitApplied(added)
        let site = try #require(Self.generatedFile(under: a.deployment.root, containing: "example.org"))
        let original = try String(contentsOfFile: site, encoding: .utf8)
        // The hand edit is the barrier: inotify reports in order, so once it is logged every
        // event of the rollout's own writes before it has been judged too.
        try (original + "# by hand\n").write(toFile: site, atomically: false, encoding: .utf8)
        try await waitFor("the hand edit noticed and put back") {
            a.logs.lines("Files changed").count > seen
                && (try? String(contentsOfFile: site, encoding: .utf8)) == original
        }
        let changed = a.logs.lines("Files changed").dropFirst(seen).map { "\($0["files.paths"] ?? "")" }
        #expect(changed == [site], "\(changed)")
    }

    /// The first generated site file whose name contains `text`.
    static func generatedFile(under root: String, containing text: String) -> String? {
        let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
        return files.filter { $0.hasSuffix(".Caddyfile") && $0.contains(text) }.sorted().first.map { root + "/" + $0 }
    }
}
