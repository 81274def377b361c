import Foundation
import Testing

@testable import MailroomHost
@testable import MailroomTestSupport

@Suite("Apply through systemd units (fake systemd)", .serialized, .tags(.podman))
struct ApplySystemdTests {
    @Test("units written with the config hash, daemon-reload, changed containers restarted through their units")
    func unitsOwnTheContainers() async throws {
        try await ApplyHarness.with { h in try await unitsOwnTheContainers(h) }
    }

    func unitsOwnTheContainers(_ h: ApplyHarness) async throws {
        let units = h.deployment.host.unitsDirectory
        let systemd = RecordingServiceManager(unitsDirectory: units, runtimeDirectory: h.deployment.root)
        let base = h.deployment.standInSpec()

        // Step 1: the first apply writes 13 units, reloads systemd, starts each through its unit.
        let first = try await h.apply(base, serviceManager: systemd)
        #expect(first.status == .succeeded, "\(first.error ?? "")")
        #expect(first.runner == .systemd)
        let written = try FileManager.default.contentsOfDirectory(atPath: units).filter { $0.hasSuffix(".service") }
        #expect(written.count == 13)
        let actions = systemd.actions
        #expect(actions.first == .daemonReload)
        #expect(actions.filter { if case .enable = $0 { true } else { false } }.count == 13)
        let restarts = actions.compactMap { if case .restart(let unit) = $0 { unit } else { nil } }
        #expect(restarts.count == 13)
        #expect(
            restarts.firstIndex(of: "container-\(h.name("mailu-resolver")).service")!
                < restarts.firstIndex(of: "container-\(h.name("mailu-front")).service")!)
        var containers = try await h.containers()
        #expect(
            containers.count == 13
                && containers.values.allSatisfy { $0.state == "running" && $0.labels["mailroom.config-hash"] != nil })
        #expect(try h.applied.files.filter { $0.hasSuffix(".service") }.count == 13)

        // Step 2: systemd's own check of the units, where its tools exist.
        if let analyze = ProcessRunner.which("systemd-analyze") {
            let unit = "\(units)/container-\(h.name("mailu-admin")).service"
            let verify = try await ProcessRunner().run([analyze, "verify", unit])
            #expect(verify.status == 0, "\(verify.stderrText)")
        }

        // Step 3: no-op: nothing asked of systemd.
        systemd.reset()
        #expect(try await h.apply(base, serviceManager: systemd).status == .noChanges)
        #expect(systemd.actions.isEmpty)

        // Step 4: one container changes: its unit is rewritten, daemon-reload, that unit alone restarted.
        let ids = containers.mapValues(\.id)
        let changed = h.deployment.standInSpec(overrides: ["mailu-webdav": ["env": "{FEATURE: \"on\"}"]])
        let webdavUnit = "container-\(h.name("mailu-webdav")).service"
        let one = try await h.apply(changed, serviceManager: systemd)
        #expect(one.status == .succeeded, "\(one.error ?? "")")
        #expect(systemd.actions == [.daemonReload, .restart(webdavUnit)])
        containers = try await h.containers()
        for (name, id) in ids { #expect((containers[name]?.id == id) == (name != h.name("mailu-webdav")), "\(name)") }
        #expect(try String(contentsOfFile: "\(units)/\(webdavUnit)", encoding: .utf8).contains("--env=FEATURE=on"))

        // Step 5: a container leaves: its unit is disabled, stopped and deleted.
        systemd.reset()
        let dropped = h.deployment.standInSpec(overrides: ["mailu-webdav": ["enabled": "false"]])
        let drop = try await h.apply(dropped, serviceManager: systemd)
        #expect(drop.status == .succeeded, "\(drop.error ?? "")")
        // Without webdav, mailu.env says WEBDAV=none: its readers restart through their units.
        #expect(Array(systemd.actions.prefix(2)) == [.daemonReload, .disableNow(webdavUnit)])
        #expect(systemd.actions.last == .daemonReload)
        let restarted = Set(systemd.actions.compactMap { if case .restart(let unit) = $0 { unit } else { nil } })
        #expect(
            restarted == Set(mailuEnvReaders.subtracting(["mailu-webdav"]).map { "container-\(h.name($0)).service" }))
        #expect(!FileManager.default.fileExists(atPath: "\(units)/\(webdavUnit)"))
        #expect(try await h.containers()[h.name("mailu-webdav")] == nil)
        #expect(try h.applied.files.filter { $0.hasSuffix(".service") }.count == 12)
    }
}
