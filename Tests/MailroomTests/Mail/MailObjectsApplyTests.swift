import Foundation
import Testing

@testable import MailroomApply
@testable import MailroomHost
@testable import MailroomMailu
@testable import MailroomPlan
@testable import MailroomSpec
@testable import MailroomSupport
@testable import MailroomTestSupport

/// Mailu's objects applied for real: podman, the 13 stand-ins, and the stand-in admin image
/// whose `flask mailu` is the named fake (`mailu-admin-fake`) over a JSON store in admin's
/// `/data`. One deployment, its steps in order.
@Suite("Mail objects with real podman and the fake Mailu admin", .serialized, .tags(.podman))
struct MailObjectsApplyTests {
    static let bcrypt = "{BLF-CRYPT}$2b$12$3eJl6JVKHSy8b1cKcoxK0.2Qm3r0yXQfUoGJzHqMfY7cxk0uP0a8W"

    /// Two domains, the first admin, three users, two aliases and one relay; `aliases` and
    /// `more` add lines under `mail:`.
    static func mail(aliases: String = "", users: String? = nil, more: String = "") -> String {
        """
        mail:
          admin: {address: admin@example.com, password_secret: ADMIN_PASSWORD}
          domains:
            example.net: {max_users: 10}
          users:
        \(users ?? """
            alice@example.com: {name: Alice, password_secret: ALICE_PASSWORD, quota: 1g}
            bob@example.net: {password: "\(bcrypt)"}
            carol@example.com: {password_secret: CAROL_PASSWORD, pop: false}
        """)
          aliases:
            postmaster@example.com: [alice@example.com]
            sales@example.net: {to: [bob@example.net, carol@example.com]}
        \(aliases)  relays:
            legacy.example.org: smtp.legacy.example.org
        \(more)
        """
    }

    /// The fake admin's store and call log, in the deployment's admin `/data`.
    struct Fake {
        let root: String
        let admin: String
        var data: String { root + "/mailu/data" }

        init(root: String, admin: String) {
            self.root = root
            self.admin = admin
        }

        init(h: ApplyHarness) { self.init(root: h.deployment.root, admin: h.name("mailu-admin")) }

        /// The fake's store: kind → key → fields.
        func store() throws -> [String: [String: [String: ObjectValue]]] {
            let data = try #require(FileManager.default.contents(atPath: self.data + "/fake-mailu.json"))
            guard case .exported(let objects) = try ObservedObjects.parse(data, kinds: MailSettings.kinds)
            else { return [:] }
            return objects
        }

        struct Call: Decodable {
            var argv: [String]
            var stdin: String?
            var status: Int
        }

        /// Every `flask mailu` call the fake answered.
        func calls() throws -> [Call] {
            let text = String(
                decoding: FileManager.default.contents(atPath: data + "/fake-mailu-calls.jsonl") ?? Data(),
                as: UTF8.self)
            return try text.split(separator: "\n").map { try JSONDecoder().decode(Call.self, from: Data($0.utf8)) }
        }

        func imports() throws -> [Call] { try calls().filter { $0.argv.contains("config-import") } }

        /// A change made "in the UI": an import the operator ran by hand.
        func byHand(_ json: String) async throws {
            _ = try await TestPodman.podman().execute(
                ["container", "exec", "-i", admin, "flask", "mailu", "config-import", "--update", "-"],
                input: Data(json.utf8))
        }
    }

    func writeSecrets(_ h: ApplyHarness, alice: String = "alice-1", admin: String = "admin-1") throws {
        try AtomicFile.write(
            "SECRET_KEY=k\nADMIN_PASSWORD=\(admin)\nALICE_PASSWORD=\(alice)\nCAROL_PASSWORD=carol-1\n",
            to: h.deployment.host.secretsFile, mode: 0o600)
    }

    func spec(_ h: ApplyHarness, _ mail: String, domains: [String] = ["example.com", "example.net"]) -> String {
        h.deployment.standInSpec(extra: mail, domains: domains)
    }

    @Test(
        "first apply creates everything once; no-op; UI changes kept; drift put back; guarded deletion; failing import")
    func lifecycle() async throws {
        try await ApplyHarness.with { h in
            let fake = Fake(h: h)
            try writeSecrets(h)
            try await firstApply(h, fake)
            try await secondApplyIsANoOp(h, fake)
            try await changesMadeInTheUIAreKept(h, fake)
            try await aChangedSecretIsWrittenOnce(h, fake)
            try await anAddedAliasIsExactlyOneImport(h, fake)
            try await driftIsPutBack(h, fake)
            try await addAndRemoveThroughTheSpec(h, fake)
            try await mailboxDeletionNeedsTheGuard(h, fake)
            try await aFailingImportFailsTheRollout(h, fake)
            // Never a config-import without --update: that would delete every object first.
            #expect(try fake.imports().allSatisfy { $0.argv.contains("--update") })
        }
    }

    func firstApply(_ h: ApplyHarness, _ fake: Fake) async throws {
        let result = try await h.apply(spec(h, Self.mail()))
        #expect(result.status == .succeeded, "\(result.error ?? "") \(result.steps.filter { $0.result == .failed })")
        #expect(try await h.containers().values.allSatisfy { $0.state == "running" })
        let store = try fake.store()
        #expect(Set(store["domain"]?.keys ?? [:].keys) == ["example.com", "example.net"])
        #expect(store["domain"]?["example.net"]?["max_users"] == .int(10))
        #expect(
            Set(store["user"]?.keys ?? [:].keys)
                == ["admin@example.com", "alice@example.com", "bob@example.net", "carol@example.com"])
        #expect(store["user"]?["admin@example.com"]?["global_admin"] == .bool(true))
        #expect(store["user"]?["alice@example.com"]?["quota_bytes"] == .int(1 << 30))
        #expect(store["user"]?["carol@example.com"]?["enable_pop"] == .bool(false))
        #expect(Set(store["alias"]?.keys ?? [:].keys) == ["postmaster@example.com", "sales@example.net"])
        #expect(store["relay"]?["legacy.example.org"]?["smtp"] == .string("smtp.legacy.example.org"))
        // One import for all of it, after the admin container was up; journalled as its own step.
        #expect(try fake.imports().count == 1)
        let step = try #require(result.steps.first { $0.action == .objectsImport })
        #expect(step.result == .ok)
        #expect(step.detail == "9 created")
        #expect(
            result.steps.lastIndex { $0.action == .containerWait } ?? 0 < result.steps.firstIndex {
                $0.action == .objectsImport
            }!)
        // The secrets went on stdin only: not in the journal, the record or the spec archive.
        for path in [
            Journal.path(in: h.deployment.host.stateDirectory), AppliedState.path(in: h.deployment.host.stateDirectory),
        ] {
            let text = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
            #expect(!text.contains("alice-1") && !text.contains("admin-1"), "\(path)")
        }
        // A DKIM key per domain: RSA-2048, PKCS#8 PEM, mode 0600, its public half derivable.
        for domain in ["example.com", "example.net"] {
            let path = h.deployment.root + "/mailu/dkim/\(domain).dkim.key"
            var info = stat()
            #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600, "\(path)")
            #expect(
                String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self).hasPrefix(
                    "-----BEGIN PRIVATE KEY-----"))
            #expect(try RSAKeyFile.bits(at: path) == 2048)
            #expect(try RSAKeyFile.publicKeyBase64(at: path).hasPrefix("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"))
        }
        #expect(result.steps.filter { $0.action == .keyCreate }.count == 2)
    }

    /// A second apply of the same spec: nothing imported, no key touched, no mutating call.
    func secondApplyIsANoOp(_ h: ApplyHarness, _ fake: Fake) async throws {
        let key = h.deployment.root + "/mailu/dkim/example.com.dkim.key"
        let before = FileManager.default.contents(atPath: key)
        h.recorder.reset()
        let again = try await h.apply(spec(h, Self.mail()))
        #expect(
            again.status == .noChanges, "\(again.plan.map { PlanFormatter(color: false).format($0, title: "") } ?? "")")
        #expect(h.recorder.mutatingPodmanCalls.isEmpty)
        #expect(h.recorder.objectImports.isEmpty)
        #expect(try fake.imports().count == 1)
        #expect(FileManager.default.contents(atPath: key) == before)
    }

    /// A user made in the UI is listed and left alone; a password changed in the UI is kept.
    func changesMadeInTheUIAreKept(_ h: ApplyHarness, _ fake: Fake) async throws {
        try await fake.byHand(#"{"user":[{"email":"dave@example.com","hash_password":true,"password":"dave-1"}]}"#)
        try await fake.byHand(
            #"{"user":[{"email":"alice@example.com","hash_password":true,"password":"alice-chose-this"}]}"#)
        let chosen = try fake.store()["user"]?["alice@example.com"]?["password"]
        let imports = try fake.imports().count
        let pipeline = Pipeline(host: h.deployment.host, engine: try h.podman, profile: MailuProfile())
        let (plan, _) = try await pipeline.plan(try pipeline.compile(specDirectory: h.deployment.specDirectory))
        #expect(plan.objects?.unmanaged == ["user dave@example.com"])
        #expect(plan.objects?.changes.isEmpty == true)
        #expect(try await h.apply(spec(h, Self.mail())).status == .noChanges)
        #expect(try fake.imports().count == imports)
        let store = try fake.store()
        #expect(store["user"]?["dave@example.com"] != nil)
        #expect(chosen != nil && store["user"]?["alice@example.com"]?["password"] == chosen)
    }

    /// The secret behind a password changes in the secrets file: that password, and only it, is written.
    func aChangedSecretIsWrittenOnce(_ h: ApplyHarness, _ fake: Fake) async throws {
        try writeSecrets(h, alice: "alice-2", admin: "admin-2")
        let result = try await h.apply(spec(h, Self.mail()))
        #expect(result.status == .succeeded, "\(result.error ?? "")")
        let last = try #require(try fake.imports().last)
        #expect(last.stdin == #"{"user":[{"email":"alice@example.com","hash_password":true,"password":"alice-2"}]}"#)
        // The first admin is never changed after its creation, whatever its secret says.
        #expect(try await h.apply(spec(h, Self.mail())).status == .noChanges)
    }

    /// A push that adds an alias imports exactly that alias.
    func anAddedAliasIsExactlyOneImport(_ h: ApplyHarness, _ fake: Fake) async throws {
        let before = try fake.imports().count
        let result = try await h.apply(spec(h, Self.mail(aliases: "    info@example.net: [bob@example.net]\n")))
        #expect(result.status == .succeeded, "\(result.error ?? "")")
        #expect(try fake.imports().count == before + 1)
        #expect(
            try fake.imports().last?.stdin
                == #"{"alias":[{"destination":["bob@example.net"],"email":"info@example.net"}]}"#)
        #expect(
            result.steps.filter { $0.action.rawValue.hasPrefix("container.") && $0.action != .containerWait }.isEmpty)
    }

    /// An alias deleted in the UI, and a changed destination, come back at the next apply.
    func driftIsPutBack(_ h: ApplyHarness, _ fake: Fake) async throws {
        let withInfo = spec(h, Self.mail(aliases: "    info@example.net: [bob@example.net]\n"))
        try await fake.byHand(
            #"{"alias":[{"-email":"info@example.net"},{"email":"postmaster@example.com","destination":["dave@example.com"]}]}"#
        )
        let result = try await h.apply(withInfo)
        #expect(result.status == .succeeded, "\(result.error ?? "")")
        let store = try fake.store()
        #expect(store["alias"]?["info@example.net"]?["destination"] == .list([.string("bob@example.net")]))
        #expect(store["alias"]?["postmaster@example.com"]?["destination"] == .list([.string("alice@example.com")]))
    }

    /// A user and a domain added and the relay removed: one import with exactly those three.
    func addAndRemoveThroughTheSpec(_ h: ApplyHarness, _ fake: Fake) async throws {
        let users = """
                alice@example.com: {name: Alice, password_secret: ALICE_PASSWORD, quota: 1g}
                bob@example.net: {password: "\(Self.bcrypt)"}
                carol@example.com: {password_secret: CAROL_PASSWORD, pop: false}
                dan@example.org: {password: "\(Self.bcrypt)", name: Dan}
            """
        let mail = Self.mail(aliases: "    info@example.net: [bob@example.net]\n", users: users)
            .replacingOccurrences(of: "  relays:\n    legacy.example.org: smtp.legacy.example.org\n", with: "")
        let before = try fake.imports().count
        let result = try await h.apply(spec(h, mail, domains: ["example.com", "example.net", "example.org"]))
        #expect(result.status == .succeeded, "\(result.error ?? "")")
        #expect(try fake.imports().count == before + 1)
        #expect(
            try fake.imports().last?.stdin
                == #"{"domain":[{"name":"example.org"}],"relay":[{"-name":"legacy.example.org"}],"user":[{"displayed_name":"Dan","email":"dan@example.org","password":"\#(Self.bcrypt)"}]}"#
        )
        let store = try fake.store()
        #expect(store["domain"]?["example.org"] != nil)
        #expect(store["user"]?["dan@example.org"]?["displayed_name"] == .string("Dan"))
        #expect(store["relay"]?["legacy.example.org"] == nil)
        // The new domain got its DKIM key and its autoconfig site.
        #expect(FileManager.default.fileExists(atPath: h.deployment.root + "/mailu/dkim/example.org.dkim.key"))
        #expect(
            FileManager.default.fileExists(
                atPath: h.deployment.root + "/caddy2/config/site/autoconfig.example.org.Caddyfile"))
    }

    /// Removing a user from the spec deletes its mailbox only with `delete_mailboxes: true`.
    func mailboxDeletionNeedsTheGuard(_ h: ApplyHarness, _ fake: Fake) async throws {
        let withoutBob = """
                alice@example.com: {name: Alice, password_secret: ALICE_PASSWORD, quota: 1g}
                carol@example.com: {password_secret: CAROL_PASSWORD, pop: false}
            """
        let mail = { (more: String) in
            Self.mail(aliases: "    info@example.net: [carol@example.com]\n", users: withoutBob, more: more)
                .replacingOccurrences(of: "bob@example.net, ", with: "")
                .replacingOccurrences(of: "  relays:\n    legacy.example.org: smtp.legacy.example.org\n", with: "")
        }
        // bob, and the domain example.org with dan in it, leave the spec.
        let refused = try await h.apply(spec(h, mail("")))
        #expect(refused.status == .refused)
        #expect(refused.error?.contains("user bob@example.net was removed from the spec") == true)
        #expect(refused.error?.contains("domain example.org was removed from the spec") == true)
        #expect(refused.error?.contains("mail.delete_mailboxes: true") == true)
        #expect(try fake.store()["user"]?["bob@example.net"] != nil)
        #expect(h.history.rollouts.last?.status == .refused)

        let allowed = try await h.apply(spec(h, mail("  delete_mailboxes: true\n")))
        #expect(allowed.status == .succeeded, "\(allowed.error ?? "")")
        let store = try fake.store()
        #expect(store["user"]?["bob@example.net"] == nil)
        #expect(store["domain"]?["example.org"] == nil)
        #expect(store["user"]?["dan@example.org"] == nil)
        #expect(try fake.imports().last?.stdin?.contains(#"{"-email":"bob@example.net"}"#) == true)
        #expect(try fake.imports().last?.stdin?.contains(#"{"-name":"example.org"}"#) == true)
        // Data directories stay; the key of the domain is not deleted either.
        #expect(FileManager.default.fileExists(atPath: h.deployment.root + "/mailu/dkim/example.org.dkim.key"))
    }

    /// Mailu refuses an import: the rollout fails and the journal carries Mailu's message.
    func aFailingImportFailsTheRollout(_ h: ApplyHarness, _ fake: Fake) async throws {
        let hook = fake.data + "/fake-mailu-fail"
        try "marshmallow.exceptions.ValidationError: simulated refusal".write(
            toFile: hook, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: hook) }
        let result = try await h.apply(spec(h, Self.mail(aliases: "    extra@example.net: [carol@example.com]\n")))
        #expect(result.status == .failed)
        let step = try #require(result.steps.first { $0.action == .objectsImport })
        #expect(step.result == .failed)
        #expect(step.detail?.contains("simulated refusal") == true, "\(step.detail ?? "")")
        let journal = String(
            decoding: FileManager.default.contents(atPath: Journal.path(in: h.deployment.host.stateDirectory))
                ?? Data(),
            as: UTF8.self)
        #expect(journal.contains("simulated refusal"))
        #expect(try fake.store()["alias"]?["extra@example.net"] == nil)
    }
}
