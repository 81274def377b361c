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

    static let commands = [
        "validate", "render", "plan", "diff", "apply", "history", "show", "rollback", "agent", "status", "suspend",
        "resume", "dkim", "dns",
    ]

    /// Help texts are wrapped at 80 columns: an example broken by the wrap cannot be pasted, so
    /// every line under "Example:" is a whole command or the indented rest of one after `\`.
    @Test func versionAndHelpWithExamples() async throws {
        let version = try await Self.run(["--version"])
        #expect(version.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == MailroomVersion.current)
        for command in Self.commands {
            let help = try await Self.run([command, "--help"])
            #expect(help.succeeded, "\(command)")
            let lines = help.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let start = try #require(lines.firstIndex(of: "Example:"), "\(command) --help has no example")
            let examples = lines[(start + 1)...].prefix { !$0.isEmpty }
            #expect(!examples.isEmpty, "\(command)")
            var continued = false
            for line in examples {
                #expect(
                    continued ? line.hasPrefix("    ") : line.hasPrefix("  mailroom \(command)"),
                    "\(command) --help: an example line broken by the wrap: '\(line)'")
                continued = line.hasSuffix("\\")
            }
        }
        // `mailroom` alone is a usage error, not a success.
        let bare = try await Self.run([])
        #expect(bare.status == 64)
        #expect(bare.stderrText.contains("name a command"))
    }

    /// contrib/ ships what the binary generates: completions exactly, and a man page naming every
    /// command and option; contrib/install-completions.sh puts them where each shell looks.
    @Test func shippedCompletionsAndManPage() async throws {
        let contrib = Fixtures.repositoryRoot + "/contrib"
        let regenerate = "run contrib/generate-docs.sh"
        for (shell, file) in [("bash", "mailroom.bash"), ("zsh", "_mailroom"), ("fish", "mailroom.fish")] {
            let generated = try await Self.run(["--generate-completion-script", shell])
            let shipped = try String(contentsOfFile: contrib + "/completions/" + file, encoding: .utf8)
            #expect(generated.stdoutText == shipped, "contrib/completions/\(file) is out of date: \(regenerate)")
        }
        let bash = try await ProcessRunner().run(["/bin/bash", "-n", contrib + "/completions/mailroom.bash"])
        #expect(bash.succeeded, "\(bash.stderrText)")

        let man = try String(contentsOfFile: contrib + "/mailroom.1", encoding: .utf8)
        // Every line of every discussion, as mdoc keeps it (a backslash is written `\e`).
        let sources = Fixtures.repositoryRoot + "/Sources/mailroom"
        for file in try FileManager.default.contentsOfDirectory(atPath: sources) where file.hasSuffix(".swift") {
            let source = try String(contentsOfFile: sources + "/" + file, encoding: .utf8)
            for line in Self.discussionLines(source) where !line.isEmpty {
                let written = line.replacingOccurrences(of: "\\\\", with: "\\e")
                #expect(man.contains(written + "\n"), "mailroom.1 lacks '\(line)' of \(file): \(regenerate)")
            }
        }
        for command in Self.commands {
            #expect(man.contains(".It Em \(command)\n"), "mailroom.1 lacks \(command): \(regenerate)")
            let help = try await Self.run([command, "--help"]).stdoutText
            let options = Set(
                help.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," || $0 == "[" }).filter {
                    $0.hasPrefix("--") && $0.count > 2 && $0.dropFirst(2).allSatisfy { $0.isLetter || $0 == "-" }
                })
            for option in options
            where !man.contains("Fl \(option.dropFirst())") && !man.contains(" , \(option.dropFirst())") {
                Issue.record("mailroom.1 lacks \(command) \(option): \(regenerate)")
            }
        }

        let stage = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: stage) }
        let install = try await ProcessRunner().run([
            "/usr/bin/env", "DESTDIR=\(stage)", "PREFIX=/usr", contrib + "/install-completions.sh",
        ])
        #expect(install.succeeded, "\(install.stderrText)")
        for (installed, shipped) in [
            ("share/bash-completion/completions/mailroom", "completions/mailroom.bash"),
            ("share/zsh/vendor-completions/_mailroom", "completions/_mailroom"),
            ("share/fish/vendor_completions.d/mailroom.fish", "completions/mailroom.fish"),
            ("share/man/man1/mailroom.1", "mailroom.1"),
        ] {
            #expect(
                FileManager.default.contentsEqual(
                    atPath: "\(stage)/usr/\(installed)", andPath: "\(contrib)/\(shipped)"),
                "\(installed)")
        }
    }

    /// The README's two commands share one build: the main job builds the debug configuration the
    /// tests are built against, so contrib/test.sh compiles only the test targets after it.
    @Test func mainJobAndTestsShareOneBuild() throws {
        let contrib = Fixtures.repositoryRoot + "/contrib"
        let planExample = try String(contentsOfFile: contrib + "/plan-example.sh", encoding: .utf8)
        #expect(planExample.contains(#"configuration="${MAILROOM_CONFIGURATION:-debug}""#))
        #expect(planExample.contains(#"swift build -c "$configuration" --product mailroom"#))
        let test = try String(contentsOfFile: contrib + "/test.sh", encoding: .utf8)
        #expect(test.contains("\nswift build --build-tests\n"))
    }

    /// swift-argument-parser wraps help at 80 columns: a longer line of a discussion breaks
    /// mid-sentence, or mid-command in an example.
    @Test func discussionsFitTheHelpWidth() throws {
        let directory = Fixtures.repositoryRoot + "/Sources/mailroom"
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasSuffix(".swift") {
            let source = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            for line in Self.discussionLines(source) {
                let text = line.replacingOccurrences(of: "\\\\", with: "\\")
                #expect(text.count <= 80, "\(file): a line of \(text.count) columns: '\(text)'")
            }
        }
    }

    /// The lines of a command file's `discussion: \"\"\"` blocks, without the literal's indentation
    /// (as written in the source: `\\` is still two characters).
    static func discussionLines(_ source: String) -> [String] {
        var lines: [String] = []
        var inDiscussion = false
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasSuffix("discussion: \"\"\"") {
                inDiscussion = true
            } else if line.trimmingCharacters(in: .whitespaces).hasPrefix("\"\"\"") {
                inDiscussion = false
            } else if inDiscussion {
                lines.append(String(line.dropFirst(12)))
            }
        }
        return lines
    }

    /// The options a command lists are the ones it uses; --output json works everywhere but
    /// `agent`, whose output is its log.
    @Test func optionsThatDoSomething() async throws {
        for command in ["history", "show", "validate", "suspend", "resume"] {
            let help = try await Self.run([command, "--help"])
            #expect(!help.stdoutText.contains("--units-dir"), "\(command)")
            #expect(!help.stdoutText.contains("--secrets-file"), "\(command)")
        }
        // diff reads no secrets; where units go is part of what it compares.
        let diffHelp = try await Self.run(["diff", "--help"])
        #expect(!diffHelp.stdoutText.contains("--secrets-file") && diffHelp.stdoutText.contains("--units-dir"))
        // `dkim` is a group: its `show` reports, `rotate` walks a person through two steps.
        for command in Self.commands.map({ $0 == "dkim" ? "dkim show" : $0 }) where command != "agent" {
            let help = try await Self.run(command.split(separator: " ").map(String.init) + ["--help"])
            #expect(help.stdoutText.contains("--output <output>"), "\(command) takes no --output")
        }
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let suspend = try await Self.run(["suspend", "--state-dir", dir, "--reason", "test", "--output", "json"])
        #expect(suspend.status == 0, "\(suspend.stderrText)")
        let suspended = try JSONSerialization.jsonObject(with: suspend.stdout) as? [String: Any]
        #expect(suspended?["suspended"] as? Bool == true && suspended?["reason"] as? String == "test")
        let resume = try await Self.run([
            "resume", "--state-dir", dir, "--listen", "127.0.0.1:9", "--output", "json",
        ])
        let resumed = try JSONSerialization.jsonObject(with: resume.stdout) as? [String: Any]
        #expect(resumed?["suspended"] as? Bool == false && resumed?["resyncing"] as? Bool == false)

        // No agent: say how to start one.
        let status = try await Self.run(["status", "--listen", "127.0.0.1:9"])
        #expect(status.status == 1)
        #expect(status.stderrText.contains("no agent answers on 127.0.0.1:9"))
        #expect(status.stderrText.contains("mailroom agent --config"))
    }

    @Test func validateReportsEveryProblemAndExitsOne() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try PureTests.ValidationTests.base.replacingOccurrences(
            of: "domains: [example.org]", with: "domains: [\"bad domain\"]"
        )
        .appending("containers:\n  mailu-smtp:\n    imagee: x\n")
        .write(toFile: dir + "/mailroom.yaml", atomically: true, encoding: .utf8)
        let result = try await Self.run(["validate", dir])
        #expect(result.status == 1)
        #expect(result.stderrText.contains("2 problems"))
        #expect(
            result.stderrText.contains("\(dir)/mailroom.yaml:5:11: domains[0]: 'bad domain' is not a valid mail domain")
        )
        #expect(
            result.stderrText.contains(
                "\(dir)/mailroom.yaml:13:5: containers.mailu-smtp.imagee: unknown key 'imagee' (did you mean 'image'?)")
        )
        let json = try await Self.run(["validate", dir, "--output", "json"])
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

        // Without podman on PATH: one warning says so and the plan is against an empty host (the
        // objects section says why it has no objects to show).
        let noPodman = try await Self.run(["plan", dir + "/spec"] + host, environment: ["PATH": "/nonexistent"])
        #expect(noPodman.status == 2)
        let warnings = noPodman.stdoutText.split(separator: "\n").filter { $0.hasPrefix("warning: ") }
        #expect(warnings.filter { $0.contains("podman is not installed") }.count == 1, "\(noPodman.stdoutText)")

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
        // It says what it is: the expansion, for reading, which validate refuses.
        #expect(explain.stdoutText.hasPrefix("# What the profile expanded the spec into"))
        #expect(explain.stdoutText.contains("validate refuses this text"))
        let help = try await Self.run(["render", "--help"])
        #expect(help.stdoutText.contains("it is not a spec"))
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
        try spec.replacingOccurrences(of: "    webdav: true", with: "    webdav: false")
            .replacingOccurrences(of: "  timezone: Asia/Shanghai", with: "  timezone: Europe/Paris")
            .write(toFile: dir + "/work/mail/mailroom.yaml", atomically: true, encoding: .utf8)
        try await git(["commit", "-qam", "third"], in: dir + "/work")
        try await git(["tag", "v3"], in: dir + "/work")
        try await git(["push", "-q", dir + "/origin.git", "main", "v2", "v3"], in: dir + "/work")
        let host = [
            "--state-dir", dir + "/state", "--units-dir", dir + "/units", "--secrets-file", dir + "/secrets.env",
        ]

        // diff reads no secrets, so it takes no --secrets-file.
        let state = ["--state-dir", dir + "/state", "--units-dir", dir + "/units"]
        let plan = try await Self.run(
            ["plan", "--repo", dir + "/origin.git", "--path", "mail", "--revision", "main~2", "--output", "json"] + host
        )
        #expect(plan.status == 2, "\(plan.stderrText)")
        #expect(try JSONDecoder().decode(Plan.self, from: plan.stdout).summary.create == 13)

        let diff = try await Self.run(
            ["diff", "--repo", dir + "/origin.git", "--path", "mail", "main~2", "v2"] + state)
        #expect(diff.status == 2, "\(diff.stderrText)")
        #expect(diff.stdoutText.contains("- container mailu-webdav"))
        // The timezone is in mailu.env: exactly its readers would be recreated.
        let readers = diff.stdoutText.split(separator: "\n").filter { $0.contains("(reads changed mailu.env)") }
        #expect(readers.count == 9)
        // A changed line reads -old, then +new, as in diff -u.
        let lines = diff.stdoutText.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let old = try #require(lines.firstIndex(of: "-TZ=Asia/Shanghai"))
        let new = try #require(lines.firstIndex(of: "+TZ=Europe/Berlin"))
        #expect(old < new)

        // One file: "1 file", not "1 files".
        let one = try await Self.run(["diff", "--repo", dir + "/origin.git", "--path", "mail", "v2", "v3"] + state)
        #expect(one.stdoutText.contains("Diff: 9 containers, 1 file differ."), "\(one.stdoutText)")

        let same = try await Self.run(["diff", "--repo", dir + "/origin.git", "--path", "mail", "v3", "main"] + state)
        #expect(same.status == 0)
        #expect(same.stdoutText.contains("No differences"))

        // A revision the mirror lacks: the hint names what it has, not a flag diff does not take.
        let head = try await Self.run(
            ["diff", "--repo", dir + "/origin.git", "--path", "mail", "HEAD~1", "v3"] + state)
        #expect(head.status == 1)
        #expect(head.stderrText.contains("the revision 'HEAD~1' is not a commit, tag or branch"))
        #expect(!head.stderrText.contains("--revision"))
        #expect(head.stderrText.contains("such as main~1"))

        let missing = try await Self.run(["plan", "--repo", dir + "/origin.git", "--path", "nope"] + host)
        #expect(missing.status == 1)
        #expect(missing.stderrText.contains("nope"))
        let unpaired = try await Self.run(["plan", "--branch", "main"] + host)
        #expect(unpaired.status == 64)
    }
}
