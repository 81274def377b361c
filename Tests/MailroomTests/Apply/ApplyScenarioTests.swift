import Foundation
import Mailroom
import Testing

/// Apply against real podman with the 13 stand-ins. One deployment per scenario, reused
/// across its steps; serialized so health timeouts are not measured on a starved machine.
@Suite("Apply with real podman", .serialized)
struct ApplyScenarioTests {
    @Test("first apply creates 13; no-op; one env; mailu.env readers; drop; unmanaged untouched; caddy reload")
    func lifecycle() async throws {
        try await ApplyHarness.with { h in try await lifecycle(h) }
    }

    func lifecycle(_ h: ApplyHarness) async throws {
        let base = h.deployment.standInSpec()

        // Dry run: the plan, walked with nothing changed.
        try h.deployment.writeSpec(base)
        let dry = try await h.applier(ApplyOptions(dryRun: true)).apply(try SpecText.directory(h.deployment.specDirectory), logger: ApplyHarness.logger)
        #expect(dry.status == .dryRun)
        #expect(dry.steps.allSatisfy { $0.result == .planned })
        #expect(dry.steps.filter { $0.action == "container.create" }.count == 13)
        #expect(h.recorder.mutatingPodmanCalls.isEmpty)
        #expect(try await h.containers().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: Journal.path(in: h.deployment.host.stateDirectory)))

        // First apply: all 13, labelled, running.
        let first = try await h.apply(base)
        #expect(first.status == .succeeded, "\(first.error ?? "")")
        var containers = try await h.containers()
        #expect(containers.count == 13)
        #expect(containers.values.allSatisfy { $0.state == "running" })
        #expect(containers.values.allSatisfy { $0.labels["mailroom.managed"] == "true" && $0.labels["mailroom.config-hash"] != nil })
        #expect(containers.values.allSatisfy { $0.labels["mailroom.commit"] == SpecText(base, file: "").localCommit })
        let envFile = h.deployment.root + "/mailu/mailu.env"
        var info = stat()
        #expect(stat(envFile, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(FileManager.default.fileExists(atPath: h.deployment.root + "/mailu/overrides/rspamd"))
        // Waves: nothing starts before its dependencies.
        let order = first.steps.filter { $0.action == "container.create" }.map(\.target)
        #expect(order.firstIndex(of: h.name("mailu-resolver"))! < order.firstIndex(of: h.name("mailu-front"))!)
        #expect(order.last == h.name("mailu-fetchmail"))
        let ids = containers.mapValues(\.id)

        // No-op: two podman calls, none mutating, nothing recorded.
        h.recorder.reset()
        let noop = try await h.apply(base)
        #expect(noop.status == .noChanges)
        #expect(h.recorder.mutatingPodmanCalls.isEmpty)
        #expect(h.recorder.podmanCalls.count <= 2)
        #expect(h.history.rollouts.count == 1)

        // A new commit that changes nothing recreates nothing.
        h.recorder.reset()
        #expect(try await h.apply(base, commit: "0123456789abcdef").status == .noChanges)
        #expect(h.recorder.mutatingPodmanCalls.isEmpty)

        // One container's env: only it.
        let oneEnv = h.deployment.standInSpec(overrides: ["mailu-webdav": ["env": "{FEATURE: \"on\"}"]])
        h.recorder.reset()
        let envResult = try await h.apply(oneEnv)
        #expect(envResult.status == .succeeded, "\(envResult.error ?? "")")
        #expect(Set(h.recorder.mutatingPodmanCalls.map { $0.prefix(2).joined(separator: " ") }) == ["container run"])
        containers = try await h.containers()
        for (name, id) in ids { #expect((containers[name]?.id == id) == (name != h.name("mailu-webdav")), "\(name)") }

        // mailu.env changes: exactly its readers.
        let before = try await h.containers().mapValues(\.id)
        let envChanged = h.deployment.standInSpec(mailu: ["timezone: Etc/UTC"], overrides: ["mailu-webdav": ["env": "{FEATURE: \"on\"}"]])
        let readers = try await h.apply(envChanged)
        #expect(readers.status == .succeeded, "\(readers.error ?? "")")
        let recreated = Set(readers.steps.filter { $0.action == "container.recreate" }.map(\.target))
        #expect(recreated == Set(mailuEnvReaders.map(h.name)))
        containers = try await h.containers()
        for (name, id) in before { #expect((containers[name]?.id != id) == recreated.contains(name), "\(name)") }

        // Dropped from the spec: removed; a hand-made container with the prefix: untouched.
        let unmanaged = h.name("handmade")
        try await TestPodman.run(["container", "run", "--detach", "--init", "--name", unmanaged, "--network", h.deployment.networkName,
                                  TestPodman.busyboxImage, "sleep", "100000"])
        let dropped = h.deployment.standInSpec(mailu: ["timezone: Etc/UTC"], overrides: ["mailu-webdav": ["enabled": "false"]])
        let drop = try await h.apply(dropped)
        #expect(drop.status == .succeeded, "\(drop.error ?? "")")
        containers = try await h.containers()
        #expect(containers[h.name("mailu-webdav")] == nil)
        #expect(containers[unmanaged]?.state == "running")
        #expect(containers.count == 13)
        #expect(try h.applied.containers[h.name("mailu-webdav")] == nil)

        // A new Caddy site: written, then `caddy reload` inside the running Caddy, no recreate.
        let caddyID = containers[h.name("caddy2")]?.id
        let withSite = dropped.replacingOccurrences(of: "  tls: internal", with: "  tls: internal\n  sites: [{host: extra.example.com}]")
        let site = try await h.apply(withSite)
        #expect(site.status == .succeeded, "\(site.error ?? "")")
        #expect(site.steps.contains { $0.action == "container.reload" && $0.target == h.name("caddy2") && $0.result == .ok })
        #expect(try await h.containers()[h.name("caddy2")]?.id == caddyID)

        // History: every rollout, in order.
        #expect(h.history.rollouts.map(\.status) == Array(repeating: .succeeded, count: 5))
        #expect(h.history.problems.isEmpty)
    }
}
