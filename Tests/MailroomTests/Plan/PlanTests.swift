import Foundation
import Testing

@testable import MailroomMailu
@testable import MailroomPlan
@testable import MailroomSupport
@testable import MailroomTestSupport

/// `plan` against an empty host, against files that differ, against override directories
/// that change, and against containers made by hand from the guide.
@Suite("Plan", .serialized, .tags(.podman))
struct PlanTests {
    static func seedGuide(root: String) throws -> String {
        try String(contentsOfFile: Fixtures.seedGuide + "/mailroom.yaml", encoding: .utf8)
            .replacingOccurrences(of: "/podmandirectory", with: root + "/podmandirectory")
            .replacingOccurrences(of: "/unbackupdirectory", with: root + "/unbackupdirectory")
    }

    static func host(_ root: String) -> HostPaths {
        HostPaths(stateDirectory: root + "/state", unitsDirectory: root + "/units", secretsFile: root + "/secrets.env")
    }

    @Test func emptyHostWithoutPodman() async throws {
        let root = try GeneratedFilesTests.tempDirectory("plan-empty")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let pipeline = Pipeline(host: Self.host(root), engine: nil, profile: MailuProfile())
        let (plan, _) = try await pipeline.plan(
            pipeline.compile(specText: Self.seedGuide(root: root), file: "mailroom.yaml"))
        #expect(plan.network.action == .create)
        #expect(plan.network.arguments.last == "podman1")
        #expect(plan.containers.count == 13 && plan.containers.allSatisfy { $0.action == .create })
        // Waves: resolver, caddy2 and webdav first; fetchmail (after admin, smtp, imap) last.
        #expect(plan.containers.first?.level == 0 && plan.containers.last?.name == "mailu-fetchmail")
        #expect(plan.files.count == 7 && plan.files.allSatisfy { $0.action == .create })
        #expect(plan.runner == .direct)
        #expect(plan.warnings.contains("podman is not installed: planned against an empty host"))
        #expect(plan.warnings.contains { $0.contains("secrets file") && $0.contains("does not exist") })
        #expect(plan.hasChanges)
    }

    @Test func hostWhoseFilesDiffer() async throws {
        let root = try GeneratedFilesTests.tempDirectory("plan-files")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try "SECRET_KEY=hunter2hunter2\n".write(toFile: root + "/secrets.env", atomically: true, encoding: .utf8)
        chmod(root + "/secrets.env", 0o600)
        let pipeline = Pipeline(host: Self.host(root), engine: nil, profile: MailuProfile())
        let compiled = try pipeline.compile(specText: Self.seedGuide(root: root), file: "mailroom.yaml")
        try GeneratedFilesTests.write(compiled.desired.files)
        for directory in compiled.desired.directories {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }

        let inSync = try await pipeline.plan(compiled).plan
        #expect(inSync.files.allSatisfy { $0.action == .inSync })
        #expect(inSync.directories.isEmpty)

        // Edit a site by hand, loosen mailu.env's mode, and leave a stale generated file behind.
        let site = root + "/podmandirectory/caddy2/config/site/autoconfig.example.com.Caddyfile"
        try (try String(contentsOfFile: site, encoding: .utf8)).replacingOccurrences(of: "403", with: "404").write(
            toFile: site, atomically: true, encoding: .utf8)
        let env = root + "/podmandirectory/mailu/mailu.env"
        chmod(env, 0o644)
        let stale = root + "/podmandirectory/caddy2/config/site/autoconfig.example.net.Caddyfile"
        try "autoconfig.example.net {\n}\n".write(toFile: stale, atomically: true, encoding: .utf8)
        var applied = AppliedState()
        applied.files = compiled.desired.files.map(\.path) + [stale]
        try FileManager.default.createDirectory(atPath: root + "/state", withIntermediateDirectories: true)
        try JSONEncoder().encode(applied).write(to: URL(fileURLWithPath: AppliedState.path(in: root + "/state")))

        let plan = try await pipeline.plan(compiled).plan
        let changed = Dictionary(uniqueKeysWithValues: plan.files.filter { $0.action != .inSync }.map { ($0.path, $0) })
        #expect(changed.count == 3)
        let siteChange = try #require(changed[site])
        #expect(siteChange.action == .update)
        #expect(
            siteChange.diff.contains(
                "-\t\trespond \"This domain is only used for Autoconfiguration by Mozilla Thunderbrid and email clients that are compatible with its specifications.\" 404"
            ))
        #expect(
            siteChange.diff.contains(
                "+\t\trespond \"This domain is only used for Autoconfiguration by Mozilla Thunderbrid and email clients that are compatible with its specifications.\" 403"
            ))
        #expect(siteChange.reload?.container == "caddy2")
        #expect(changed[env]?.action == .update && changed[env]?.diff == "mode 644 → 600")
        #expect(changed[stale]?.action == .delete)
        // Secrets never reach a plan.
        let text = PlanFormatter(color: false).format(plan, title: "t")
        #expect(!text.contains("hunter2"))
        #expect(text.contains("~ file \(site)"))
        #expect(text.contains("- file \(stale)"))
    }

    @Test func overrideDirectoryChangeMarksOnlyItsReader() async throws {
        try await ApplyHarness.with { h in
            let spec = h.deployment.standInSpec()
            #expect(try await h.apply(spec).status == .succeeded)
            let pipeline = Pipeline(host: h.deployment.host, engine: try h.podman, profile: MailuProfile())
            let compiled = try pipeline.compile(specDirectory: h.deployment.specDirectory)
            #expect(try await pipeline.plan(compiled).plan.hasChanges == false)

            try "smtpd_banner = test\n".write(
                toFile: h.deployment.root + "/mailu/overrides/postfix/postfix.cf", atomically: true, encoding: .utf8)
            let plan = try await pipeline.plan(compiled).plan
            let changes = plan.containers.filter { $0.action != .inSync }
            #expect(changes.map(\.name) == [h.name("mailu-smtp")])
            #expect(changes.first?.action == .recreate)
            #expect(changes.first?.reasons.first?.contains("overrides/postfix") == true)
            #expect(plan.files.allSatisfy { $0.action == .inSync })
        }
    }

    /// A container started by hand with the guide's command: matching it is adopted without a
    /// restart; a differing one is shown field by field from `podman inspect`.
    @Test func containersMadeByHandFromTheGuide() async throws {
        try await TestPodman.ensureImages()
        try await TestDeployment.with { d in
            try d.writeSpec(d.standInSpec())
            let podman = try TestPodman.podman()
            let pipeline = Pipeline(host: d.host, engine: podman, profile: MailuProfile())
            let compiled = try pipeline.compile(specDirectory: d.specDirectory)
            try GeneratedFilesTests.write(compiled.desired.files)
            for directory in compiled.desired.directories {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            try await podman.execute(compiled.desired.network.arguments)

            // By hand, as the guide does: the same flags without Mailroom's labels.
            let resolver = try #require(compiled.desired.container(named: d.prefix + "mailu-resolver"))
            try await podman.execute(resolver.arguments.filter { !$0.hasPrefix("--label=mailroom.") })
            // By hand, but differently: another address, an extra variable, no restart policy.
            let smtp = try #require(compiled.desired.container(named: d.prefix + "mailu-smtp"))
            var handMade = smtp.arguments.filter { !$0.hasPrefix("--label=mailroom.") && $0 != "--restart=always" }
            handMade = handMade.map { $0.hasPrefix("--ip=") ? "--ip=10.213.\(d.index).99" : $0 }
            handMade.insert("--env=RELAYHOST=smtp.example.net", at: 3)
            try await podman.execute(handMade)

            let plan = try await pipeline.plan(compiled).plan
            let byName = Dictionary(uniqueKeysWithValues: plan.containers.map { ($0.name, $0) })
            let adopted = try #require(byName[resolver.name])
            #expect(adopted.action == .adopt, "\(adopted)")
            #expect(adopted.fields.isEmpty)
            let replaced = try #require(byName[smtp.name])
            #expect(replaced.action == .recreate)
            #expect(replaced.reasons == ["made outside Mailroom; differs from the spec"])
            let fields = Dictionary(uniqueKeysWithValues: replaced.fields.map { ($0.field, $0) })
            #expect(
                fields["ip"]?.removed == ["10.213.\(d.index).99"] && fields["ip"]?.added == ["10.213.\(d.index).37"])
            #expect(fields["restart"]?.added == ["always"])
            #expect(fields["env"]?.removed == ["RELAYHOST=smtp.example.net"] || fields["env"] == nil)
            #expect(fields.keys.allSatisfy { ["ip", "restart", "env"].contains($0) }, "\(fields.keys.sorted())")
            #expect(byName[d.prefix + "mailu-front"]?.action == .create)
        }
    }
}
