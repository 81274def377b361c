import Foundation
import Testing

@testable import MailroomHost
@testable import MailroomPlan
@testable import MailroomSupport
@testable import MailroomTestSupport

/// The `mailroom` executable as people run it: exit codes, output, help text.
@Suite("CLI", .serialized, .tags(.podman, .git))
struct CLITests {
    /// The built `mailroom`, in an environment without other suites' process-wide variables.
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> ProcessResult {
        try await MailroomBinary.run(arguments, environment: environment)
    }

    static func scratch() throws -> String { try GeneratedFilesTests.tempDirectory("cli") }

    @Test func versionAndHelpWithExamples() async throws {
        let version = try await Self.run(["--version"])
        #expect(version.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == MailroomVersion.current)
        for command in ["validate", "render", "plan", "diff", "apply", "history", "show", "rollback"] {
            let help = try await Self.run([command, "--help"])
            #expect(help.succeeded, "\(command)")
            #expect(help.stdoutText.contains("Example"), "\(command) --help has no example")
        }
    }

    @Test func validateReportsEveryProblemAndExitsOne() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try PureTests.ValidationTests.base.replacingOccurrences(
            of: "domains: [example.org]", with: "domains: [\"bad domain\"]"
        )
        .appending("containers:\n  mailu-smtp:\n    imagee: x\n")
        .write(toFile: dir + "/mailroom.yaml", atomically: true, encoding: .utf8)
        let result = try await Self.run(["validate", dir, "--secrets-file", "/dev/null"])
        #expect(result.status == 1)
        #expect(result.stderrText.contains("2 problems"))
        #expect(
            result.stderrText.contains("\(dir)/mailroom.yaml:5:11: domains[0]: 'bad domain' is not a valid mail domain")
        )
        #expect(
            result.stderrText.contains(
                "\(dir)/mailroom.yaml:13:5: containers.mailu-smtp.imagee: unknown key 'imagee' (did you mean 'image'?)")
        )
        let json = try await Self.run(["validate", dir, "--output", "json", "--secrets-file", "/dev/null"])
        #expect(json.status == 1)
        let report = try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any]
        #expect(report?["valid"] as? Bool == false)
        #expect((report?["diagnostics"] as? [Any])?.count == 2)
    }

    @Test func planExitCodesAndOutput() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/spec", withIntermediateDirectories: true)
        try PlanTests.seedGuide(root: dir).write(toFile: dir + "/spec/mailroom.yaml", atomically: true, encoding: .utf8)
        let host = [
            "--state-dir", dir + "/state", "--units-dir", dir + "/units", "--secrets-file", dir + "/secrets.env",
        ]

        // Pending changes: exit 2; not a TTY, so no colour codes.
        let pending = try await Self.run(["plan", dir + "/spec"] + host)
        #expect(pending.status == 2, "\(pending.stderrText)")
        #expect(pending.stdoutText.contains("+ container mailu-front"))
        #expect(pending.stdoutText.contains("Plan: network to create; containers: 13 to create, 0 to recreate"))
        #expect(!pending.stdoutText.contains("\u{1B}["))

        // Without podman on PATH: one line says so and the plan is against an empty host.
        let noPodman = try await Self.run(["plan", dir + "/spec"] + host, environment: ["PATH": "/nonexistent"])
        #expect(noPodman.status == 2)
        #expect(noPodman.stdoutText.split(separator: "\n").filter { $0.contains("podman is not installed") }.count == 1)

        // JSON for machines.
        let json = try await Self.run(["plan", dir + "/spec", "--output", "json"] + host)
        #expect(json.status == 2)
        let plan = try JSONDecoder().decode(Plan.self, from: json.stdout)
        #expect(plan.summary.create == 13)

        // An invalid spec: exit 1, nothing planned.
        try "network: {}\n".write(toFile: dir + "/spec/mailroom.yaml", atomically: true, encoding: .utf8)
        let invalid = try await Self.run(["plan", dir + "/spec"] + host)
        #expect(invalid.status == 1)
        #expect(invalid.stdoutText.isEmpty)
        #expect(invalid.stderrText.contains("network.name: 'name' is required"))
    }

    @Test func renderJSONGivesArgvAndEdges() async throws {
        let result = try await Self.run([
            "render", Fixtures.seedGuide, "--output", "json", "--secrets-file", "/dev/null",
        ])
        #expect(result.succeeded)
        let object = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        let containers = try #require(object["containers"] as? [[String: Any]])
        #expect(containers.count == 13)
        let front = try #require(containers.first { $0["name"] as? String == "mailu-front" })
        #expect((front["argv"] as? [String])?.prefix(2) == ["container", "run"])
        #expect((front["argv"] as? [String])?.last == "ghcr.io/mailu/nginx:2.0")
        let edges = try #require(object["edges"] as? [[String: String]])
        #expect(edges.count == 20)  // the guide's ordering section: 10 units, 20 After= edges
        #expect(edges.contains { $0["container"] == "mailu-fetchmail" && $0["dependsOn"] == "mailu-imap" })

        let explain = try await Self.run(["render", Fixtures.seedGuide, "--explain", "--secrets-file", "/dev/null"])
        #expect(explain.succeeded)
        #expect(explain.stdoutText.contains("- name: mailu-admin"))
        #expect(
            explain.stdoutText.contains("I_KNOW_MY_SETUP_DOESNT_FIT_REQUIREMENTS_AND_WONT_FILE_ISSUES_WITHOUT_PATCHES"))

        let misuse = try await Self.run(["render", Fixtures.seedGuide, "--explain", "--output", "json"])
        #expect(misuse.status == 64)
    }

    /// A spec read from a real git repository: plan at a pinned revision, and the
    /// desired-state diff between two commits.
    @Test func gitRepositoryPlanAndDiff() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func git(_ arguments: [String], in directory: String) async throws {
            let result = try await ProcessRunner().run(
                [
                    "/usr/bin/git", "-C", directory, "-c", "user.name=t", "-c", "user.email=t@example.com",
                    "-c", "init.defaultBranch=main",
                ] + arguments)
            #expect(result.succeeded, "git \(arguments): \(result.stderrText)")
        }
        try await git(["init", "-q", "--bare", dir + "/origin.git"], in: dir)
        try await git(["init", "-q", dir + "/work"], in: dir)
        try FileManager.default.createDirectory(atPath: dir + "/work/mail", withIntermediateDirectories: true)
        let spec = try PlanTests.seedGuide(root: dir)
        try spec.write(toFile: dir + "/work/mail/mailroom.yaml", atomically: true, encoding: .utf8)
        try await git(["add", "."], in: dir + "/work")
        try await git(["commit", "-qm", "first"], in: dir + "/work")
        try spec.replacingOccurrences(of: "    webdav: true", with: "    webdav: false")
            .replacingOccurrences(of: "  timezone: Asia/Shanghai", with: "  timezone: Europe/Berlin")
            .write(toFile: dir + "/work/mail/mailroom.yaml", atomically: true, encoding: .utf8)
        try await git(["commit", "-qam", "second"], in: dir + "/work")
        try await git(["tag", "v2"], in: dir + "/work")
        try await git(["push", "-q", dir + "/origin.git", "main", "v2"], in: dir + "/work")
        let host = [
            "--state-dir", dir + "/state", "--units-dir", dir + "/units", "--secrets-file", dir + "/secrets.env",
        ]

        let plan = try await Self.run(
            ["plan", "--repo", dir + "/origin.git", "--path", "mail", "--revision", "main~1", "--output", "json"] + host
        )
        #expect(plan.status == 2, "\(plan.stderrText)")
        #expect(try JSONDecoder().decode(Plan.self, from: plan.stdout).summary.create == 13)

        let diff = try await Self.run(["diff", "--repo", dir + "/origin.git", "--path", "mail", "main~1", "v2"] + host)
        #expect(diff.status == 2, "\(diff.stderrText)")
        #expect(diff.stdoutText.contains("- container mailu-webdav"))
        // The timezone is in mailu.env: exactly its readers would be recreated.
        let readers = diff.stdoutText.split(separator: "\n").filter { $0.contains("(reads changed mailu.env)") }
        #expect(readers.count == 9)
        #expect(diff.stdoutText.contains("-TZ=Asia/Shanghai"))
        #expect(diff.stdoutText.contains("+TZ=Europe/Berlin"))

        let same = try await Self.run(["diff", "--repo", dir + "/origin.git", "--path", "mail", "v2", "main"] + host)
        #expect(same.status == 0)
        #expect(same.stdoutText.contains("No differences"))

        let missing = try await Self.run(["plan", "--repo", dir + "/origin.git", "--path", "nope"] + host)
        #expect(missing.status == 1)
        #expect(missing.stderrText.contains("nope"))
        let unpaired = try await Self.run(["plan", "--branch", "main"] + host)
        #expect(unpaired.status == 64)
    }
}
