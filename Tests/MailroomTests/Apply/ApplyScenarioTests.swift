import Foundation
import Testing

@testable import MailroomApply
@testable import MailroomHost
@testable import MailroomSupport
@testable import MailroomTestSupport

/// Apply against real podman with the 13 stand-ins. One deployment per scenario, reused
/// across its steps; serialized so health timeouts are not measured on a starved machine.
@Suite("Apply with real podman", .serialized, .tags(.podman))
struct ApplyScenarioTests {
    @Test("first apply creates 13; no-op; one env; mailu.env readers; drop; unmanaged untouched; caddy reload")
    func lifecycle() async throws {
        try await ApplyHarness.with { h in try await lifecycle(h) }
    }

    func lifecycle(_ h: ApplyHarness) async throws {
        let base = h.deployment.standInSpec()
        try await dryRunChangesNothing(h, base)
        let ids = try await firstApplyCreatesAll(h, base)
        try await noOpRunsNoMutation(h, base)
        try await noOpOverTheRESTSocket(h, base, ids: ids)
        try await newCommitWithoutChangesRecreatesNothing(h, base)
        try await oneEnvRecreatesOnlyItsContainer(h, ids: ids)
        try await mailuEnvChangeRecreatesItsReaders(h)
        let dropped = try await droppedContainerRemovedUnmanagedKept(h)
        try await newCaddySiteReloadsCaddy(h, dropped)
        // History: every rollout, in order.
        #expect(h.history.rollouts.map(\.status) == Array(repeating: .succeeded, count: 6))
        #expect(h.history.problems.isEmpty)
    }

    /// Step 1: a dry run walks the plan with nothing changed.
    func dryRunChangesNothing(_ h: ApplyHarness, _ base: String) async throws {
        try h.deployment.writeSpec(base)
        let dry = try await h.applier(ApplyOptions(dryRun: true)).apply(
            try SpecText.directory(h.deployment.specDirectory), logger: ApplyHarness.logger)
        #expect(dry.status == .dryRun)
        #expect(dry.steps.allSatisfy { $0.result == .planned })
        #expect(dry.steps.filter { $0.action == .containerCreate }.count == 13)
        #expect(h.recorder.mutatingPodmanCalls.isEmpty)
        #expect(try await h.containers().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: Journal.path(in: h.deployment.host.stateDirectory)))
    }

    /// Step 2: the first apply creates all 13, labelled and running, in waves. Returns their ids.
    func firstApplyCreatesAll(_ h: ApplyHarness, _ base: String) async throws -> [String: String] {
        let first = try await h.apply(base)
        #expect(first.status == .succeeded, "\(first.error ?? "")")
        let containers = try await h.containers()
        #expect(containers.count == 13)
        #expect(containers.values.allSatisfy { $0.state == "running" })
        #expect(
            containers.values.allSatisfy {
                $0.labels["mailroom.managed"] == "true" && $0.labels["mailroom.config-hash"] != nil
            })
        #expect(containers.values.allSatisfy { $0.labels["mailroom.commit"] == SpecText(base, file: "").localCommit })
        let envFile = h.deployment.root + "/mailu/mailu.env"
        var info = stat()
        #expect(stat(envFile, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(FileManager.default.fileExists(atPath: h.deployment.root + "/mailu/overrides/rspamd"))
        // Waves: nothing starts before its dependencies.
        let order = first.steps.filter { $0.action == .containerCreate }.map(\.target)
        #expect(order.firstIndex(of: h.name("mailu-resolver"))! < order.firstIndex(of: h.name("mailu-front"))!)
        #expect(order.last == h.name("mailu-fetchmail"))
        return containers.mapValues(\.id)
    }

    /// Step 3: a no-op makes three podman calls (containers, networks, Mailu's object export),
    /// none mutating, and records nothing.
    func noOpRunsNoMutation(_ h: ApplyHarness, _ base: String) async throws {
        h.recorder.reset()
        let noop = try await h.apply(base)
        #expect(noop.status == .noChanges)
        #expect(h.recorder.mutatingPodmanCalls.isEmpty)
        #expect(h.recorder.podmanCalls.count <= 3)
        #expect(h.recorder.objectImports.isEmpty)
        #expect(h.history.rollouts.count == 1)
    }

    /// Step 4: the same no-op over podman's REST socket: reads are HTTP requests; the only
    /// podman process is the object export run in the admin container.
    func noOpOverTheRESTSocket(_ h: ApplyHarness, _ base: String, ids: [String: String]) async throws {
        let started = try await TestPodman.startService(socket: h.deployment.root + "/podman.sock", cli: try h.podman)
        defer {
            started?.service.stop()
            unsetenv("MAILROOM_PODMAN_SOCKET")
        }
        let rest = try #require(started?.socket, "podman system service did not answer")
        #expect(
            Set(try await rest.listContainers().map(\.name).filter { $0.hasPrefix(h.deployment.prefix) })
                == Set(ids.keys))
        #expect(
            try await rest.inspectContainers([h.name("mailu-front"), h.name("nope")]).map(\.imageName) == [
                "localhost/mailu-standin/nginx:2.0"
            ])
        h.recorder.reset()
        #expect(try await h.apply(base, engine: rest).status == .noChanges)
        // Reads are HTTP; the one process is the object export inside mailu-admin.
        #expect(
            h.recorder.podmanCalls.allSatisfy {
                $0.starts(with: ["container", "exec"]) && $0.contains("config-export")
            })
    }

    /// Step 5: a new commit that changes nothing recreates nothing, and is recorded as applied.
    func newCommitWithoutChangesRecreatesNothing(_ h: ApplyHarness, _ base: String) async throws {
        h.recorder.reset()
        let unchanged = try await h.apply(base, commit: "0123456789abcdef")
        #expect(unchanged.status == .noChanges)
        #expect(h.recorder.mutatingPodmanCalls.isEmpty)
        // Recorded all the same, as a rollout without steps: it is the applied commit now.
        let recorded = try #require(h.history.rollouts.last)
        #expect(recorded.id == unchanged.rollout && recorded.commit == "0123456789abcdef" && recorded.steps.isEmpty)
        #expect(try h.applied.commit == "0123456789abcdef")
        // The same commit again records nothing.
        #expect(try await h.apply(base, commit: "0123456789abcdef").rollout == nil)
    }

    /// Step 6: one container's env changes: only it is recreated.
    func oneEnvRecreatesOnlyItsContainer(_ h: ApplyHarness, ids: [String: String]) async throws {
        let oneEnv = h.deployment.standInSpec(overrides: ["mailu-webdav": ["env": "{FEATURE: \"on\"}"]])
        h.recorder.reset()
        let envResult = try await h.apply(oneEnv)
        #expect(envResult.status == .succeeded, "\(envResult.error ?? "")")
        #expect(Set(h.recorder.mutatingPodmanCalls.map { $0.prefix(2).joined(separator: " ") }) == ["container run"])
        let containers = try await h.containers()
        for (name, id) in ids { #expect((containers[name]?.id == id) == (name != h.name("mailu-webdav")), "\(name)") }
    }

    /// Step 7: mailu.env changes: exactly its readers are recreated.
    func mailuEnvChangeRecreatesItsReaders(_ h: ApplyHarness) async throws {
        let before = try await h.containers().mapValues(\.id)
        let envChanged = h.deployment.standInSpec(
            mailu: ["timezone: Etc/UTC"], overrides: ["mailu-webdav": ["env": "{FEATURE: \"on\"}"]])
        let readers = try await h.apply(envChanged)
        #expect(readers.status == .succeeded, "\(readers.error ?? "")")
        let recreated = Set(readers.steps.filter { $0.action == .containerRecreate }.map(\.target))
        #expect(recreated == Set(mailuEnvReaders.map(h.name)))
        let containers = try await h.containers()
        for (name, id) in before { #expect((containers[name]?.id != id) == recreated.contains(name), "\(name)") }
    }

    /// Step 8: a container dropped from the spec is removed; a hand-made container with the
    /// prefix is left alone. Returns the spec without webdav.
    func droppedContainerRemovedUnmanagedKept(_ h: ApplyHarness) async throws -> String {
        let unmanaged = h.name("handmade")
        try await TestPodman.run([
            "container", "run", "--detach", "--init", "--name", unmanaged, "--network", h.deployment.networkName,
            TestPodman.busyboxImage, "sleep", "100000",
        ])
        let dropped = h.deployment.standInSpec(
            mailu: ["timezone: Etc/UTC"], overrides: ["mailu-webdav": ["enabled": "false"]])
        let drop = try await h.apply(dropped)
        #expect(drop.status == .succeeded, "\(drop.error ?? "")")
        let containers = try await h.containers()
        #expect(containers[h.name("mailu-webdav")] == nil)
        #expect(containers[unmanaged]?.state == "running")
        #expect(containers.count == 13)
        #expect(try h.applied.containers[h.name("mailu-webdav")] == nil)
        return dropped
    }

    /// Step 9: a new Caddy site is written, then `caddy reload` runs inside the running Caddy;
    /// no recreate.
    func newCaddySiteReloadsCaddy(_ h: ApplyHarness, _ dropped: String) async throws {
        let caddyID = try await h.containers()[h.name("caddy2")]?.id
        let withSite = dropped.replacingOccurrences(
            of: "  tls: internal", with: "  tls: internal\n  sites: [{host: extra.example.com}]")
        let site = try await h.apply(withSite)
        #expect(site.status == .succeeded, "\(site.error ?? "")")
        #expect(
            site.steps.contains { $0.action == .containerReload && $0.target == h.name("caddy2") && $0.result == .ok })
        #expect(try await h.containers()[h.name("caddy2")]?.id == caddyID)
    }
}

extension ApplyScenarioTests {
    @Test(
        "a stand-in that exits at once, or stays unhealthy, fails the rollout; the journal says why; rollback restores")
    func failuresRollBack() async throws {
        try await ApplyHarness.with { h in try await failuresRollBack(h) }
    }

    func failuresRollBack(_ h: ApplyHarness) async throws {
        // Step 1: a good first rollout.
        let base = h.deployment.standInSpec()
        let good = try await h.apply(base)
        #expect(good.status == .succeeded, "\(good.error ?? "")")
        let before = try await h.containers()
        let options = ApplyOptions(rollbackOnFailure: true, healthTimeout: .seconds(1))

        // Step 2: exits at once (wave 0): the rollout stops there and is rolled back.
        let exits = h.deployment.standInSpec(overrides: ["mailu-webdav": ["command": "[sh, -c, \"exit 3\"]"]])
        let failed = try await h.apply(exits, options: options)
        #expect(failed.status == .failed)
        #expect(failed.error?.contains("exited") == true, "\(failed.error ?? "")")
        #expect(!failed.steps.contains { $0.action == .containerRecreate && $0.target != h.name("mailu-webdav") })
        let failedID = try #require(failed.rollout)
        let record = try #require(h.history.rollout(failedID))
        #expect(record.status == .failed)
        #expect(
            record.steps.contains {
                $0.action == .containerWait && $0.target == h.name("mailu-webdav") && $0.result == .failed
                    && ($0.detail ?? "").contains("exited")
            })
        let rollback = try #require(failed.autoRollback)
        #expect(rollback.status == .succeeded, "\(rollback.error ?? "")")
        #expect(rollback.to == good.rollout)
        var after = try await h.containers()
        #expect(after[h.name("mailu-webdav")]?.state == "running")
        for (name, container) in before {
            #expect(after[name]?.labels["mailroom.config-hash"] == container.labels["mailroom.config-hash"], "\(name)")
            if name != h.name("mailu-webdav") { #expect(after[name]?.id == container.id, "\(name)") }
        }

        // Step 3: stays unhealthy (wave 2): waves 0–1 untouched, fetchmail (wave 3) never reached.
        let unhealthy = h.deployment.standInSpec(overrides: [
            "mailu-admin": ["healthcheck": "{command: \"false\", interval: disable}"]
        ])
        let sick = try await h.apply(unhealthy, options: options)
        #expect(sick.status == .failed)
        #expect(sick.error?.contains("unhealthy") == true, "\(sick.error ?? "")")
        #expect(sick.steps.filter { $0.action == .containerRecreate }.map(\.target) == [h.name("mailu-admin")])
        #expect(sick.autoRollback?.status == .succeeded, "\(sick.autoRollback?.error ?? "")")
        after = try await h.containers()
        #expect(
            after[h.name("mailu-admin")]?.labels["mailroom.config-hash"]
                == before[h.name("mailu-admin")]?.labels["mailroom.config-hash"])
        #expect(after[h.name("mailu-fetchmail")]?.id == before[h.name("mailu-fetchmail")]?.id)
        let statuses = h.history.rollouts.map { "\($0.trigger?.rawValue ?? "")=\($0.status?.rawValue ?? "")" }
        #expect(
            statuses == [
                "cli=succeeded", "cli=failed", "auto-rollback=succeeded", "cli=failed", "auto-rollback=succeeded",
            ])

        // Step 4: without --rollback-on-failure the failed state stays; `rollback` then returns to the last good spec.
        let stays = try await h.apply(
            exits, options: ApplyOptions(rollbackOnFailure: false, healthTimeout: .seconds(1)))
        #expect(stays.status == .failed && stays.autoRollback == nil)
        let manual = try await h.applier().rollback(to: good.rollout, logger: ApplyHarness.logger)
        #expect(manual.status == .succeeded, "\(manual.error ?? "")")
        #expect(manual.rollbackTo == good.rollout)
        #expect(
            try await h.containers()[h.name("mailu-webdav")]?.labels["mailroom.config-hash"]
                == before[h.name("mailu-webdav")]?.labels["mailroom.config-hash"])

        // Step 5: rolling back to an older Mailu on a running deployment is refused without --force.
        let old = "20000101-000000-0001"
        try SpecArchive.save(
            base.replacingOccurrences(of: "  image_registry:", with: "  version: \"1.9\"\n  image_registry:"),
            rollout: old,
            in: h.deployment.host.stateDirectory)
        let journal = Journal(stateDirectory: h.deployment.host.stateDirectory)
        var start = JournalRecord(type: .start, rollout: old)
        start.commit = "1111111111"
        try journal.append(start)
        var end = JournalRecord(type: .end, rollout: old)
        end.status = .succeeded
        try journal.append(end)
        h.recorder.reset()
        let lower = try await h.applier().rollback(to: "1111111", logger: ApplyHarness.logger)
        #expect(lower.status == .refused)
        #expect(lower.error?.contains("lower Mailu from 2.0 to 1.9") == true, "\(lower.error ?? "")")
        #expect(h.recorder.mutatingPodmanCalls.isEmpty)
    }
}
