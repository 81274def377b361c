import Foundation
import Testing

@testable import MailroomMailu
@testable import MailroomSpec
@testable import MailroomSupport
@testable import MailroomTestSupport

extension PureTests {
    /// The `mail:` section: what it declares, and what it refuses, where it was written.
    @Suite("Mail objects in the spec", .tags(.pure))
    struct MailSpecTests {
        static let bcrypt = "{BLF-CRYPT}$2b$12$3eJl6JVKHSy8b1cKcoxK0.2Qm3r0yXQfUoGJzHqMfY7cxk0uP0a8W"

        /// `TestSpecs.minimal` with two domains and `mail:` lines.
        static func spec(_ mail: String) -> String {
            TestSpecs.minimal.replacingOccurrences(of: "[example.org]", with: "[example.org, example.net]")
                + "mail:\n" + mail
        }

        @Test("the minimal example's mail section becomes domains, users, aliases and a relay")
        func minimalExample() throws {
            let compiled = try Fixtures.compile(directory: Fixtures.minimal)
            let store = try #require(compiled.desired.objects)
            #expect(store.container == "mailu-admin")
            #expect(store.importCommand == ["flask", "mailu", "config-import", "--update", "-"])
            let ids = store.objects.map(\.id)
            #expect(
                ids == [
                    "domain example.org", "domain example.net", "user admin@example.org", "user alice@example.org",
                    "user bob@example.net", "user carol@example.org", "alias postmaster@example.org",
                    "alias sales@example.net", "relay legacy.example.org",
                ])
            let alice = try #require(store.object("user", "alice@example.org"))
            #expect(alice.fields["displayed_name"] == .string("Alice Example"))
            #expect(alice.fields["quota_bytes"] == .int(2 * 1024 * 1024 * 1024))
            #expect(alice.secret?.source == "secret ALICE_PASSWORD")
            let admin = try #require(store.object("user", "admin@example.org"))
            #expect(admin.createOnly)
            #expect(admin.fields["global_admin"] == .bool(true))
            #expect(store.object("domain", "example.net")?.fields["max_users"] == .int(20))
            #expect(
                store.object("alias", "sales@example.net")?.fields["destination"]
                    == .list([.string("bob@example.net"), .string("carol@example.org")]))
            #expect(store.object("relay", "legacy.example.org")?.fields["smtp"] == .string("smtp.legacy.example.org"))
            // Each password key is a required secret; DKIM keys for both domains.
            #expect(
                compiled.spec.settings.requiredSecrets
                    == ["SECRET_KEY", "MAILU_ADMIN_PASSWORD", "ALICE_PASSWORD", "CAROL_PASSWORD"])
            #expect(
                compiled.desired.keys.map(\.path) == [
                    "/podmandirectory/mailu/dkim/example.org.dkim.key",
                    "/podmandirectory/mailu/dkim/example.net.dkim.key",
                ])
            #expect(compiled.desired.keys.allSatisfy { $0.mode == 0o600 })
        }

        @Test("every domain is a Mailu domain, even without a mail section")
        func domainsWithoutMailSection() throws {
            let compiled = try Fixtures.compile(TestSpecs.minimal)
            #expect(compiled.desired.objects?.objects.map(\.id) == ["domain example.org"])
        }

        @Test("no admin container, no objects: nothing is managed through it, and a mail section is refused")
        func adminSwitchedOff() throws {
            let off = TestSpecs.minimal + "containers:\n  mailu-admin: {enabled: false}\n"
            let compiled = try Fixtures.compile(off)
            #expect(compiled.desired.objects == nil)
            #expect(compiled.desired.keys.isEmpty)
            let problems = Fixtures.diagnostics(off + "mail:\n  aliases:\n    a@example.org: [b@example.org]\n")
            #expect(problems.map(\.field) == ["mail"])
            #expect(problems.first?.message.contains("switches off") == true)
            // components.admin only hides the admin UI: the container still runs and imports.
            let hidden = TestSpecs.minimal.replacingOccurrences(
                of: "mailu:\n", with: "mailu:\n  components: {admin: false}\n")
            #expect(try Fixtures.compile(hidden).desired.objects?.container == "mailu-admin")
        }

        @Test("a secret's value never reaches an encoded spec or plan; its digest follows the value")
        func secretsNotEncoded() throws {
            let text = Self.spec("  users:\n    alice@example.org: {password_secret: ALICE_PASSWORD}\n")
            func compile(_ password: String) throws -> ObjectStore {
                let secrets = SecretValues(
                    path: "(test)", values: ["SECRET_KEY": "k", "ALICE_PASSWORD": password])
                return try #require(
                    try Fixtures.compiler().compile(SpecText(text, file: "mailroom.yaml"), secrets: .values(secrets))
                        .desired.objects)
            }
            let store = try compile("correct horse battery")
            let alice = try #require(store.object("user", "alice@example.org")?.secret)
            #expect(alice.payload["password"] == .string("correct horse battery"))
            #expect(alice.payload["hash_password"] == .bool(true))
            let encoded = String(decoding: try JSONEncoder().encode(store), as: UTF8.self)
            #expect(!encoded.contains("correct horse"))
            #expect(try compile("another one").object("user", "alice@example.org")?.secret?.digest != alice.digest)
            #expect(try compile("correct horse battery").object("user", "alice@example.org")?.secret == alice)
        }

        struct Case: CustomTestStringConvertible, Sendable {
            var name: String
            var mail: String
            var field: String
            /// Text on the line the problem must point at.
            var at: String
            var message: String
            var testDescription: String { name }
        }

        static let cases: [Case] = [
            Case(
                name: "a plain password", mail: "  users:\n    alice@example.org:\n      password: hunter2\n",
                field: "mail.users.alice@example.org.password", at: "hunter2", message: "looks like a plain password"),
            Case(
                name: "a plain password behind a known scheme",
                mail: "  users:\n    alice@example.org:\n      password: \"{BLF-CRYPT}my-real-password\"\n",
                field: "mail.users.alice@example.org.password", at: "my-real", message: "looks like a plain password"),
            Case(
                name: "a destination listed twice (Mailu keeps a set: it would never converge)",
                mail: "  aliases:\n    sales@example.org: [a@example.org, A@example.org]\n",
                field: "mail.aliases.sales@example.org[1]", at: "sales@", message: "listed twice"),
            Case(
                name: "a hash with an unknown scheme",
                mail: "  users:\n    alice@example.org:\n      password: \"{ROT13}uhagre2\"\n",
                field: "mail.users.alice@example.org.password", at: "ROT13", message: "looks like a plain password"),
            Case(
                name: "both a hash and a secret",
                mail: "  users:\n    alice@example.org:\n      password: \"\(bcrypt)\"\n      password_secret: ALICE\n",
                field: "mail.users.alice@example.org.password", at: "BLF-CRYPT", message: "both"),
            Case(
                name: "a user without a password", mail: "  users:\n    alice@example.org:\n      name: Alice\n",
                field: "mail.users.alice@example.org", at: "name: Alice", message: "has no password"),
            Case(
                name: "a user in a domain Mailu does not serve",
                mail: "  users:\n    alice@example.com: {password_secret: ALICE}\n",
                field: "mail.users.alice@example.com", at: "alice@example.com", message: "not one of the mail domains"),
            Case(
                name: "an alias that is also a user",
                mail:
                    "  users:\n    alice@example.org: {password_secret: ALICE}\n  aliases:\n    alice@example.org: [bob@example.net]\n",
                field: "mail.aliases.alice@example.org", at: "alice@example.org: [", message: "both a user and an alias"
            ),
            Case(
                name: "an alias destination that is not an address",
                mail: "  aliases:\n    sales@example.org: [bob]\n", field: "mail.aliases.sales@example.org[0]",
                at: "sales@", message: "'bob' is not an e-mail address"),
            Case(
                name: "a relay for a domain Mailu serves", mail: "  relays:\n    example.net: smtp.example.com\n",
                field: "mail.relays.example.net", at: "example.net: smtp", message: "cannot relay it"),
            Case(
                name: "settings for a domain not in domains:", mail: "  domains:\n    example.com: {max_users: 5}\n",
                field: "mail.domains.example.com", at: "example.com: {", message: "not one of the mail domains"),
            Case(
                name: "a quota that is not a size",
                mail: "  users:\n    alice@example.org:\n      quota: lots\n      password_secret: A\n",
                field: "mail.users.alice@example.org.quota", at: "quota: lots", message: "'lots' is not a size"),
            Case(
                name: "an unknown user key",
                mail: "  users:\n    alice@example.org:\n      quotta: 1g\n      password_secret: A\n",
                field: "mail.users.alice@example.org.quotta", at: "quotta", message: "unknown key 'quotta'"),
            Case(
                name: "manager of an unknown domain",
                mail: "  users:\n    alice@example.org:\n      manager_of: [example.com]\n      password_secret: A\n",
                field: "mail.users.alice@example.org.manager_of", at: "alice@example.org:",
                message: "example.com is not one of the mail domains"),
            Case(
                name: "the first admin declared again as a user",
                mail:
                    "  admin: {address: admin@example.org, password_secret: ADMIN}\n  users:\n    admin@example.org: {password_secret: B}\n",
                field: "mail.users.admin@example.org", at: "admin@example.org: {", message: "declared twice"),
            Case(
                name: "a first admin without a password key", mail: "  admin: {address: admin@example.org}\n",
                field: "mail.admin.password_secret", at: "admin:", message: "'password_secret' is required"),
            Case(
                name: "an alternative that is a mail domain itself",
                mail: "  domains:\n    example.org: {alternatives: [example.net]}\n",
                field: "mail.domains.example.org.alternatives", at: "example.org: {", message: "mail domain of its own"),
        ]

        @Test("each broken mail section is refused with one problem, where it was written", arguments: cases)
        func refused(_ c: Case) throws {
            let text = Self.spec(c.mail)
            let problems = Fixtures.diagnostics(text)
            try #require(problems.count == 1, "\(problems.map(\.description))")
            #expect(problems[0].field == c.field, "\(problems[0].description)")
            #expect(problems[0].message.contains(c.message), "\(problems[0].description)")
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let line = try #require(lines.firstIndex { $0.contains(c.at) }) + 1
            #expect(problems[0].location.line == line, "\(problems[0].description)")
        }

        @Test("a plain password is never echoed in the error")
        func plainPasswordNotEchoed() throws {
            let problems = Fixtures.diagnostics(
                Self.spec("  users:\n    alice@example.org:\n      password: Tr0ub4dor&3\n"))
            #expect(problems.count == 1)
            #expect(!problems.map(\.description).joined().contains("Tr0ub4dor"))
        }
    }
}
