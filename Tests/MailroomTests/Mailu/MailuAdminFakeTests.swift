import Foundation
import Testing

@testable import MailroomHost
@testable import MailroomSupport
@testable import MailroomTestSupport

/// `{FAKE-SHA256}` + sha256 of the plaintext, as the fake stores a `hash_password: true` password.
private let fakeHashOfS3cret = "{FAKE-SHA256}e1e748fd3cd8c6cb8f19c746a76c041d0f4a8a7fa90097bce2b25469d05e2112"
private let emptyExport = #"{"domain":[],"user":[],"alias":[],"relay":[]}"#

/// The fake `flask mailu` (Sources/mailu-admin-fake) run on this host over a store in a
/// temporary directory: the parts of its contract that need no container.
@Suite("mailu-admin-fake on the host", .tags(.os))
struct MailuAdminFakeHostTests {
    /// A store, call log and fail-hook path of its own, removed afterwards.
    struct Sandbox {
        let directory: String
        var store: String { directory + "/fake-mailu.json" }
        var log: String { directory + "/calls.jsonl" }
        var failHook: String { directory + "/fail" }

        static func with(_ body: (Sandbox) async throws -> Void) async throws {
            let directory = NSTemporaryDirectory() + "mailu-admin-fake-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try await body(Sandbox(directory: directory))
        }

        /// `flask mailu <arguments>` with `stdin` piped in.
        func mailu(_ arguments: [String], stdin: String = "") async throws -> ProcessResult {
            let environment = [
                "MAILU_FAKE_STORE=\(store)", "MAILU_FAKE_LOG=\(log)", "MAILU_FAKE_FAIL=\(failHook)",
            ]
            return try await ProcessRunner().run(
                ["/usr/bin/env"] + environment + [
                    try MailroomBinary.builtExecutable(named: "mailu-admin-fake"), "mailu",
                ]
                    + arguments, input: Data(stdin.utf8))
        }

        func export(_ flags: [String] = []) async throws -> String {
            let result = try await mailu(["config-export", "--json"] + flags)
            #expect(result.status == 0, "\(result.stderrText)")
            return result.stdoutText.trimmingCharacters(in: .newlines)
        }

        func storeText() throws -> String { try String(contentsOfFile: store, encoding: .utf8) }
    }

    private static let exampleDomain = #"{"domain":[{"name":"example.com"}]}"#

    @Test("usage errors exit 2 like click; a non-JSON input exits 1; YAML export is refused")
    func usage() async throws {
        try await Sandbox.with { box in
            let unknown = try await box.mailu(["config-import", "--bogus"])
            #expect(unknown.status == 2)
            #expect(unknown.stderrText.hasPrefix("Usage: flask mailu config-import [OPTIONS] [FILENAME|-]"))
            #expect(unknown.stderrText.hasSuffix("Error: No such option: --bogus"))
            let short = try await box.mailu(["config-export", "-jx"])
            #expect(short.status == 2 && short.stderrText.hasSuffix("Error: No such option: -x"))
            let yaml = try await box.mailu(["config-export"])
            #expect(yaml.status == 2 && yaml.stderrText.contains("JSON only"))
            let notJSON = try await box.mailu(["config-import", "-u"], stdin: "domain:\n  - name: example.com\n")
            #expect(notJSON.status == 1 && notJSON.stderrText.contains("reads JSON only"))
            let command = try await box.mailu(["user", "a", "example.com", "pw"])
            #expect(command.status == 2 && command.stderrText.contains("No such command 'user'"))
            let missing = try await box.mailu(["admin", "root", "example.com"])
            #expect(missing.status == 2 && missing.stderrText.hasSuffix("Error: Missing argument 'PASSWORD'."))
            let help = try await box.mailu(["config-export", "-?"])
            #expect(help.status == 0 && help.stdoutText.contains("--secrets"))
        }
    }

    @Test("clustered short flags, a dry run saves nothing, -v lists the objects, -q prints nothing")
    func dryRunAndVerbose() async throws {
        try await Sandbox.with { box in
            let dry = try await box.mailu(["config-import", "-nuv"], stdin: Self.exampleDomain)
            #expect(dry.status == 0, "\(dry.stderrText)")
            #expect(
                dry.stdoutText == "Created domain: 'example.com'\nDry run. Not committing changes. Created: domain(1)\n"
            )
            #expect(try await box.export() == emptyExport)
            let quiet = try await box.mailu(["config-import", "--update", "--quiet"], stdin: Self.exampleDomain)
            #expect(quiet.status == 0 && quiet.stdoutText.isEmpty)
            let again = try await box.mailu(["config-import", "-u", "-"], stdin: Self.exampleDomain)
            #expect(again.stdoutText == "Committing changes. No changes.\n")
        }
    }

    @Test("export: primary key first, then sorted; defaults left out without --full; filters")
    func exportShape() async throws {
        try await Sandbox.with { box in
            let input = """
                {"domain": [{"name": "Example.com", "max_users": 10, "alternatives": ["alt.example.com"]}],
                 "user": [{"email": "Ann@example.com", "password": "s3cret-pw", "hash_password": true,
                           "displayed_name": "Ann", "forward_destination": "x@elsewhere.test, y@elsewhere.test"}],
                 "alias": [{"email": "b@example.com", "destination": ["ann@example.com"], "wildcard": false}],
                 "relay": [{"name": "relay.test", "smtp": "mx.relay.test"}]}
                """
            let imported = try await box.mailu(["config-import", "-u"], stdin: input)
            #expect(imported.stdoutText == "Committing changes. Created: alias(1) domain(1) relay(1) user(1)\n")
            // Mailu 2.0 always exports a user's hash (no {SCHEME}) and spam_threshold (its default
            // is a callable), and a domain's dkim_key as <hidden> unless --secrets.
            #expect(
                try await box.export() == #"{"domain":[{"name":"example.com","alternatives":["alt.example.com"],"#
                    + #""dkim_key":"<hidden>","max_users":10}],"user":[{"email":"ann@example.com","#
                    + #""displayed_name":"Ann","forward_destination":["x@elsewhere.test","y@elsewhere.test"],"#
                    + #""password":"\#(fakeHashOfS3cret)","spam_threshold":80}],"#
                    + #""alias":[{"email":"b@example.com","destination":["ann@example.com"]}],"#
                    + #""relay":[{"name":"relay.test","smtp":"mx.relay.test"}]}"#)
            #expect(
                try await box.export(["--secrets", "domain"])
                    == #"{"domain":[{"name":"example.com","alternatives":["alt.example.com"],"#
                    + #""dkim_key":"","max_users":10}]}"#)
            #expect(
                try await box.export(["user.email", "user.quota_bytes"])
                    == #"{"user":[{"email":"ann@example.com","quota_bytes":1000000000}]}"#)
            let full = try await box.export(["--full", "relay"])
            #expect(full == #"{"relay":[{"name":"relay.test","comment":"","smtp":"mx.relay.test"}]}"#)
            let bad = try await box.mailu(["config-export", "--json", "user.nonsense"])
            #expect(bad.status == 1 && bad.stderrText == "Error: Invalid filter: user.nonsense")
            // -o writes the file instead of stdout.
            let toFile = try await box.mailu(["config-export", "-j", "-o", box.directory + "/out.json", "relay"])
            #expect(toFile.status == 0 && toFile.stdoutText.isEmpty)
            #expect(try String(contentsOfFile: box.directory + "/out.json", encoding: .utf8).hasPrefix(#"{"relay":["#))
        }
    }

    @Test("update mode: lists merge unless -prune-, -item removes one, {-key: null} prunes the section")
    func listsAndPrune() async throws {
        try await Sandbox.with { box in
            let base = """
                {"domain": [{"name": "example.com"}],
                 "alias": [{"email": "a@example.com", "destination": ["x@example.com"]},
                           {"email": "b@example.com", "destination": ["x@example.com"]}]}
                """
            _ = try await box.mailu(["config-import", "-u"], stdin: base)
            let merge = #"{"alias": [{"email": "a@example.com", "destination": ["y@example.com", "-x@example.com"]}]}"#
            #expect(try await box.mailu(["config-import", "-u"], stdin: merge).status == 0)
            #expect(try await box.export(["alias.destination"]).contains(#"{"destination":["y@example.com"]}"#))
            let replace = #"{"alias": [{"email": "b@example.com", "destination": ["-prune-", "z@example.com"]}]}"#
            #expect(try await box.mailu(["config-import", "-u"], stdin: replace).status == 0)
            #expect(
                try await box.export(["alias"]).contains(#"{"email":"b@example.com","destination":["z@example.com"]}"#))
            let missing = #"{"alias": [{"email": "b@example.com", "destination": ["-nobody@example.com"]}]}"#
            let refused = try await box.mailu(["config-import", "-u"], stdin: missing)
            #expect(
                refused.status == 1 && refused.stderrText.contains("Item to delete not found: 'nobody@example.com'."))
            let prune = #"{"alias": [{"email": "b@example.com"}, {"-email": null}]}"#
            let pruned = try await box.mailu(["config-import", "-u"], stdin: prune)
            #expect(pruned.stdoutText == "Committing changes. Deleted: alias(1)\n")
            #expect(try await box.export(["alias.email"]) == #"{"alias":[{"email":"b@example.com"}]}"#)
        }
    }

    @Test("passwords: a known {SCHEME} is stripped; a plaintext without hash_password is refused")
    func passwords() async throws {
        try await Sandbox.with { box in
            _ = try await box.mailu(["config-import", "-u"], stdin: Self.exampleDomain)
            let hashed =
                #"{"user": [{"email": "a@example.com", "password": "{BLF-CRYPT}$2b$12$abcdefghijklmnopqrstuv"}]}"#
            #expect(try await box.mailu(["config-import", "-u"], stdin: hashed).status == 0)
            #expect(try box.storeText().contains(#""password":"$2b$12$abcdefghijklmnopqrstuv""#))
            let plain = #"{"user": [{"email": "b@example.com", "password": "hunter2"}]}"#
            let refused = try await box.mailu(["config-import", "-u"], stdin: plain)
            #expect(refused.status == 1)
            #expect(
                refused.stderrText
                    == "Error: [ValidationError] 1 error occurred during input validation\n"
                    + "     - user.0.password : invalid password hash 'hunter2'")
            let nothing = #"{"user": [{"email": "a@example.com", "hash_password": true}]}"#
            let noPassword = try await box.mailu(["config-import", "-u"], stdin: nothing)
            #expect(
                noPassword.stderrText.contains(#"user.0.hash_password : Nothing to hash. Field "password" is missing."#)
            )
            // The fake's digest is SHA-256 (FIPS 180-4 test vector "abc").
            let abc = #"{"user": [{"email": "c@example.com", "password": "abc", "hash_password": true}]}"#
            _ = try await box.mailu(["config-import", "-u"], stdin: abc)
            #expect(try box.storeText().contains("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
        }
    }

    @Test("refusals change nothing: reset rules, a name twice, a domain that is also a relay")
    func refusals() async throws {
        try await Sandbox.with { box in
            _ = try await box.mailu(["config-import", "-u"], stdin: Self.exampleDomain)
            let before = try box.storeText()
            let cases: [(String, String)] = [
                (#"{"domain": [{"name": "example.com", "-max_users": 5}]}"#, #"Value must be "null" when resetting"#),
                (#"{"user": [{"email": "a@example.com", "-password": null}]}"#, "Field has no default value."),
                (#"{"domain": [{"name": "example.com", "max_users": "ten"}]}"#, "Not a valid integer."),
                (#"{"domains": []}"#, "domains : Unknown field."),
                (#"{"user": [{"-email": "ghost@example.com"}]}"#, "Item to delete not found: 'ghost@example.com'."),
                (#"{"relay": [{"name": "example.com"}]}"#, "[ValueError] Duplicate domain name: example.com"),
                (
                    #"{"user": [{"email": "a@example.com", "password": "p", "hash_password": true, "tokens": [{}]}]}"#,
                    "keeps no tokens"
                ),
            ]
            for (input, message) in cases {
                let result = try await box.mailu(["config-import", "-u"], stdin: input)
                #expect(result.status == 1, "\(input)")
                #expect(result.stderrText.contains(message), "\(input): \(result.stderrText)")
            }
            #expect(try box.storeText() == before)
        }
    }
}

/// The stand-in admin image (`StandInImages.adminImage`): busybox with the fake as
/// /usr/bin/flask, driven as Mailroom drives Mailu's admin, `podman exec -i <admin> flask mailu
/// ...`, over a store in the container's bind-mounted /data that the test reads from the host.
@Suite("mailu-admin-fake in the stand-in admin image", .serialized, .tags(.podman))
struct MailuAdminFakeImageTests {
    @Test("the contract through podman exec: import, export, markers, refusals, replace, fail hook, admin, call log")
    func contract() async throws {
        try await TestPodman.ensureImages()
        let podman = try TestPodman.podman()
        let labels = try await podman.execute([
            "image", "inspect", "--format", "{{index .Labels \"\(StandInImages.fakeLabel)\"}}",
            StandInImages.adminImage,
        ])
        #expect(labels.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == StandInImages.fakeVersion)
        try await TestDeployment.with("fake") { deployment in
            let data = deployment.root + "/data"
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            let container = deployment.prefix + "admin"
            try await TestPodman.run([
                "run", "-d", "--init", "--name", container, "--label", "mailroom.test=mailu-admin-fake", "--network",
                "none", "-v", "\(data):/data", StandInImages.adminImage, "sleep", "100000",
            ])
            try await exercise(Admin(podman: podman, container: container, data: data))
        }
    }

    struct Admin {
        let podman: PodmanCLI
        let container: String
        let data: String
        var store: String { data + "/fake-mailu.json" }

        func mailu(_ arguments: [String], stdin: String = "") async throws -> ProcessResult {
            try await ProcessRunner().run(
                [podman.executable, "exec", "-i", container, "flask", "mailu"] + arguments, input: Data(stdin.utf8))
        }

        func export(_ flags: [String] = []) async throws -> String {
            let result = try await mailu(["config-export", "--json"] + flags)
            #expect(result.status == 0, "\(result.stderrText)")
            return result.stdoutText.trimmingCharacters(in: .newlines)
        }

        func storeText() throws -> String { try String(contentsOfFile: store, encoding: .utf8) }
    }

    func exercise(_ admin: Admin) async throws {
        // An empty store, created on first use and readable from the host.
        #expect(try await admin.export() == emptyExport)
        #expect(try admin.storeText() == emptyExport + "\n")

        // --update creates a domain and a user whose plaintext the fake "hashes".
        let create = """
            {"domain": [{"name": "example.com"}],
             "user": [{"email": "ann@example.com", "password": "s3cret-pw", "hash_password": true, "quota_bytes": 5}]}
            """
        let created = try await admin.mailu(["config-import", "--update"], stdin: create)
        #expect(created.status == 0, "\(created.stderrText)")
        #expect(created.stdoutText == "Committing changes. Created: domain(1) user(1)\n")
        #expect(try admin.storeText().contains(#""password":"\#(fakeHashOfS3cret)""#))

        // --full: every field. As in Mailu 2.0 the hash is exported even without --secrets
        // (only dkim_key is hidden then).
        let full = try await admin.export(["--full", "user"])
        #expect(full.contains(#""enable_imap":true"#) && full.contains(#""quota_bytes":5"#))
        #expect(full.contains(#""password":"\#(fakeHashOfS3cret)""#))
        #expect(try await admin.export(["--full", "domain"]).contains(#""dkim_key":"<hidden>""#))
        #expect(try await admin.export(["--full", "--secrets", "domain"]).contains(#""dkim_key":"""#))

        // Reset marker: quota_bytes back to its default, which a plain export leaves out.
        let reset = #"{"user": [{"email": "ann@example.com", "-quota_bytes": null}]}"#
        #expect(try await admin.mailu(["config-import", "-u"], stdin: reset).stdoutText.contains("Modified: user(1)"))
        #expect(
            try await admin.export(["user"])
                == #"{"user":[{"email":"ann@example.com","password":"\#(fakeHashOfS3cret)","spam_threshold":80}]}"#)

        // Deletion marker.
        let second = #"{"user": [{"email": "bob@example.com", "password": "pw", "hash_password": true}]}"#
        #expect(try await admin.mailu(["config-import", "-u"], stdin: second).status == 0)
        let delete = #"{"user": [{"-email": "bob@example.com"}]}"#
        #expect(try await admin.mailu(["config-import", "-u"], stdin: delete).stdoutText.contains("Deleted: user(1)"))
        #expect(try await admin.export(["user.email"]) == #"{"user":[{"email":"ann@example.com"}]}"#)

        // Refusals leave the store as it was.
        let before = try admin.storeText()
        let unknown = try await admin.mailu(
            ["config-import", "-u"], stdin: #"{"user": [{"email": "ann@example.com", "nonsense": 1}]}"#)
        #expect(unknown.status == 1)
        #expect(
            unknown.stderrText
                == "Error: [ValidationError] 1 error occurred during input validation\n"
                + "     - user.0.nonsense : Unknown field.")
        let orphan = try await admin.mailu(
            ["config-import", "-u"],
            stdin: #"{"user": [{"email": "cy@nowhere.test", "password": "pw", "hash_password": true}]}"#)
        #expect(orphan.status == 1 && orphan.stderrText.contains("domain 'nowhere.test'"))
        let noPassword = try await admin.mailu(
            ["config-import", "-u"], stdin: #"{"user": [{"email": "dee@example.com"}]}"#)
        #expect(
            noPassword.status == 1
                && noPassword.stderrText.contains("user.0.password : Missing data for required field."))
        #expect(try admin.storeText() == before)

        // The fail hook: its text on stderr, status 1, nothing changed.
        let hook = admin.data + "/fake-mailu-fail"
        try "injected failure\n".write(toFile: hook, atomically: true, encoding: .utf8)
        let failed = try await admin.mailu(["config-import", "-u"], stdin: #"{"relay": [{"name": "relay.test"}]}"#)
        try FileManager.default.removeItem(atPath: hook)
        #expect(failed.status == 1 && failed.stderrText == "injected failure")
        #expect(try admin.storeText() == before)

        // admin --mode ifmissing twice creates once; plain create then refuses.
        let first = try await admin.mailu(["admin", "root", "example.com", "pw", "--mode", "ifmissing"])
        #expect(first.status == 0 && first.stdoutText == "created admin user\n")
        let again = try await admin.mailu(["admin", "root", "example.com", "pw", "-m", "ifmissing"])
        #expect(again.status == 0 && again.stdoutText == "user 'root@example.com' exists, not updating\n")
        let create2 = try await admin.mailu(["admin", "root", "example.com", "pw"])
        #expect(create2.status == 1 && create2.stderrText == "Error: user 'root@example.com' exists, not created")
        #expect(
            try await admin.export(["user.email", "user.global_admin"])
                == #"{"user":[{"email":"ann@example.com","global_admin":false},"#
                + #"{"email":"root@example.com","global_admin":true}]}"#)

        // Without --update: everything is replaced (the dangerous default Mailroom must avoid).
        let replaced = try await admin.mailu(["config-import"], stdin: #"{"domain": [{"name": "other.test"}]}"#)
        #expect(replaced.status == 0, "\(replaced.stderrText)")
        #expect(replaced.stdoutText == "Committing changes. Created: domain(1) / Deleted: domain(1) user(2)\n")
        #expect(
            try await admin.export()
                == #"{"domain":[{"name":"other.test","dkim_key":"<hidden>"}],"user":[],"alias":[],"relay":[]}"#)

        // The call log: one line per invocation, with argv, stdin (null when not read) and status.
        let lines = try String(contentsOfFile: admin.data + "/fake-mailu-calls.jsonl", encoding: .utf8)
            .split(separator: "\n")
        let calls = try lines.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(calls.count == 20)
        #expect(calls.allSatisfy { ($0["argv"] as? [String])?.prefix(2) == ["flask", "mailu"] })
        let imports = calls.filter { ($0["argv"] as? [String])?.dropFirst(2).first == "config-import" }
        #expect(imports.count == 9)
        #expect(
            imports.filter { !(($0["argv"] as? [String]) ?? []).contains(where: { $0 == "-u" || $0 == "--update" }) }
                .count == 1)
        #expect(imports.allSatisfy { $0["stdin"] is String })
        #expect(calls.first?["stdin"] is NSNull)
        #expect(calls.map { $0["status"] as? Int }.filter { $0 == 1 }.count == 5)
        #expect(
            String(lines[0])
                == #"{"argv":["flask","mailu","config-export","--json"],"status":0,"stdin":null}"#)
    }
}
