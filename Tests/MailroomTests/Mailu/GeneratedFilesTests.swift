import Foundation
import Testing

@testable import MailroomHost
@testable import MailroomMailu
@testable import MailroomPlan
@testable import MailroomRender
@testable import MailroomSpec
@testable import MailroomTestSupport

/// Generated Caddyfiles and units checked by the real tools: `caddy validate`, `caddy run`
/// behind a stand-in front, `systemd-analyze verify`, and `podman generate systemd --new`.
@Suite(.serialized, .tags(.podman)) struct GeneratedFilesTests {
    /// Writes every file of `desired` under `root` (or at its own path when `root` is empty).
    static func write(_ files: [FileDefinition], under root: String = "") throws {
        for file in files {
            let path = root + file.path
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try file.content.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, mode_t(file.mode))
        }
    }

    static func tempDirectory(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "mailroom-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// `caddy validate` in the Caddy image, with the rendered files mounted where the guide mounts them.
    static func caddyValidate(caddyRoot: String) async throws -> ProcessResult {
        let podman = try TestPodman.podman()
        return try await podman.runner.run([
            podman.executable, "run", "--rm", "--network=none",
            "--volume=\(caddyRoot)/Caddyfile:/etc/caddy/Caddyfile:ro", "--volume=\(caddyRoot)/config/:/config/:ro",
            TestPodman.caddyImage, "caddy", "validate", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile",
        ])
    }

    @Test(arguments: ["seed-guide", "minimal"])
    func caddyValidatesEveryGeneratedCaddyfile(_ example: String) async throws {
        try await TestPodman.ensureImages()
        let compiled = try Fixtures.compile(
            directory: Fixtures.repositoryRoot + "/examples/" + example, secret: "k", unitsDirectory: "/u")
        let desired = compiled.desired
        let settings = try #require(compiled.spec.settings as? MailuSettings)
        let out = try Self.tempDirectory("caddy")
        defer { try? FileManager.default.removeItem(atPath: out) }
        try Self.write(desired.files.filter { $0.path.contains("caddy2") }, under: out)
        let sites = try FileManager.default.contentsOfDirectory(atPath: out + settings.caddy.root + "/config/site")
        #expect(sites.count == 1 + settings.domains.count)
        let result = try await Self.caddyValidate(caddyRoot: out + settings.caddy.root)
        #expect(result.succeeded, "caddy validate: \(result.stderrText)")
        #expect((result.stdoutText + result.stderrText).contains("Valid configuration"))

        // The same check fails on a broken site file, so a pass means something.
        let broken = out + settings.caddy.root + "/config/site/autoconfig.\(settings.mainDomain).Caddyfile"
        try (try String(contentsOfFile: broken, encoding: .utf8)).replacingOccurrences(
            of: "reverse_proxy", with: "reverse_prxy"
        )
        .write(toFile: broken, atomically: true, encoding: .utf8)
        let failed = try await Self.caddyValidate(caddyRoot: out + settings.caddy.root)
        #expect(!failed.succeeded)
        #expect(failed.stderrText.contains("reverse_prxy"))
    }

    @Test func systemdAnalyzeVerifiesEveryUnit() async throws {
        let desired = try Fixtures.compileSeedGuide().desired
        let out = try Self.tempDirectory("units")
        defer { try? FileManager.default.removeItem(atPath: out) }
        try Self.write(desired.units, under: out)
        let directory = out + "/etc/systemd/system"
        let units = desired.units.map { directory + "/" + $0.path.lastComponent }
        #expect(units.count == 13)
        let result = try await ProcessRunner().run(["/usr/bin/systemd-analyze", "verify"] + units)
        #expect(result.succeeded, "systemd-analyze: \(result.stderrText)")
        #expect(result.stderrText.isEmpty, "\(result.stderrText)")

        // A unit with a typo is refused by the same check.
        let broken = directory + "/container-mailu-front.service"
        try desired.units[2].content.replacingOccurrences(of: "ExecStart=", with: "ExecStrat=").write(
            toFile: broken, atomically: true, encoding: .utf8)
        let failed = try await ProcessRunner().run(["/usr/bin/systemd-analyze", "verify", broken])
        #expect(!failed.succeeded)
    }

    /// Each unit equals what `podman generate systemd --new --name` prints for the same container,
    /// apart from the header comment and the ordering lines the guide adds.
    @Test func unitsMatchPodmanGenerateSystemd() async throws {
        try await TestPodman.ensureImages()
        try await TestDeployment.with { d in
            try d.writeSpec(d.standInSpec())
            let compiled = try Pipeline(host: d.host, engine: nil, profile: MailuProfile()).compile(
                specDirectory: d.specDirectory)
            try Self.write(compiled.desired.files)
            for directory in compiled.desired.directories {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            let podman = try TestPodman.podman()
            try await podman.execute(compiled.desired.network.arguments)
            for name in ["mailu-front", "mailu-antispam", "caddy2"] {
                let container = try #require(compiled.desired.container(named: d.prefix + name))
                // Run with the rendered arguments, as the guide does, so podman sees the same flags.
                try await podman.execute(container.arguments)
                let generated = try await podman.execute(["generate", "systemd", "--new", "--name", container.name])
                    .stdoutText
                let ours = try #require(
                    compiled.desired.units.first { $0.path.hasSuffix("container-\(container.name).service") }
                ).content
                func body(_ unit: String) -> [String] {
                    unit.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                        .filter {
                            !$0.hasPrefix("#") && !$0.hasPrefix("After=container-")
                                && !$0.hasPrefix("Requires=container-")
                        }
                        .drop { $0.isEmpty }.map { $0 }
                }
                #expect(body(ours) == body(generated), "\(name): \(generated)")
                #expect(
                    ours.contains(
                        "After=\(container.dependsOn.map { "container-\($0).service" }.joined(separator: " "))")
                        || container.dependsOn.isEmpty)
            }
        }
    }

    /// Real Caddy, running the rendered Caddyfiles in the rendered caddy2 container, in front of a
    /// stand-in Mailu front: autoconfig serves the XML path and answers 403 for everything else.
    @Test func caddyServesAutoconfigAndRefusesOtherPaths() async throws {
        try await TestPodman.ensureImages()
        try await TestDeployment.with { d in
            let front =
                #"[sh, -c, "mkdir -p /www/mail && echo '<clientConfig version=\"1.1\"/>' > /www/mail/config-v1.1.xml && echo front > /www/index.html && exec httpd -f -p 80 -h /www"]"#
            try d.writeSpec(
                d.standInSpec(overrides: ["mailu-front": ["command": front]], domains: ["example.com", "example.org"]))
            let compiled = try Pipeline(host: d.host, engine: nil, profile: MailuProfile()).compile(
                specDirectory: d.specDirectory)
            try Self.write(compiled.desired.files)
            for directory in compiled.desired.directories {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            let podman = try TestPodman.podman()
            try await podman.execute(compiled.desired.network.arguments)
            for name in ["mailu-front", "caddy2"] {
                try await podman.execute(try #require(compiled.desired.container(named: d.prefix + name)).arguments)
            }
            let port = d.portBase + 2
            func fetch(_ host: String, _ path: String) async throws -> (status: String, body: String) {
                let result = try await ProcessRunner().run([
                    "/usr/bin/curl", "-sk", "--max-time", "60", "--resolve", "\(host):\(port):127.0.0.1",
                    "-w", "\n%{http_code}", "https://\(host):\(port)\(path)",
                ])
                let lines = result.stdoutText.split(separator: "\n", omittingEmptySubsequences: false)
                return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
            }
            // Caddy needs a moment to start and issue its internal certificates: poll until it
            // answers (minutes: for a Caddy that never will, not for a slow machine).
            var xml = (status: "", body: "")
            let deadline = ContinuousClock.now + .minutes(3)
            while ContinuousClock.now < deadline {
                xml = try await fetch("autoconfig.example.com", "/mail/config-v1.1.xml?emailaddress=a@example.com")
                if xml.status == "200" { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(xml.status == "200")
            #expect(xml.body.contains("<clientConfig"))
            let refused = try await fetch("autoconfig.example.org", "/admin")
            #expect(refused.status == "403")
            #expect(refused.body.contains("only used for Autoconfiguration"))
            let website = try await fetch("mail.example.com", "/")
            #expect(website.status == "200")
            #expect(website.body.contains("front"))
        }
    }
}
