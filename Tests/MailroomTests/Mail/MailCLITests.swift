import Foundation
import Testing

@testable import MailroomSupport
@testable import MailroomTestSupport

/// The built `mailroom` on mail objects: `diff` between two commits shows the account change,
/// `dkim` prints the record of each key and replaces one only when asked.
@Suite("Mail objects on the command line", .tags(.git))
struct MailCLITests {
    static func spec(_ mail: String) -> String {
        TestSpecs.minimal + "mail:\n" + mail
    }

    @Test("diff A B between two commits shows a user added and an alias changed, with the secret as its source")
    func diffShowsAccountChanges() async throws {
        let repo = try ScratchRepository(files: [
            "mailroom.yaml": Self.spec("  aliases:\n    sales@example.org: [a@example.org]\n")
        ])
        defer { repo.remove() }
        try repo.commitAndPush(
            [
                "mailroom.yaml": Self.spec(
                    "  users:\n    alice@example.org: {password_secret: ALICE_PASSWORD, name: Alice}\n"
                        + "  aliases:\n    sales@example.org: [a@example.org, alice@example.org]\n")
            ], message: "alice")
        let state = repo.root + "/state"
        let diff = try await MailroomBinary.run([
            "diff", "--repo", repo.origin, "--state-dir", state, "main~1", "main",
        ])
        #expect(diff.status == 2, "\(diff.stderrText)")
        let text = diff.stdoutText
        #expect(text.contains("  + user alice@example.org"), "\(text)")
        #expect(text.contains("      + password=(secret, secret ALICE_PASSWORD)"), "\(text)")
        #expect(text.contains("  ~ alias sales@example.org: destination"), "\(text)")
        #expect(text.contains("      + destination=[a@example.org, alice@example.org]"), "\(text)")
        #expect(text.contains("Diff: 0 containers, 0 files, 2 objects differ."), "only objects changed: \(text)")
    }

    @Test("dkim: before apply the key is missing (exit 1); with a key, the record Mailu publishes")
    func dkimRecord() async throws {
        let root = NSTemporaryDirectory() + "mailroom-dkim-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/spec", withIntermediateDirectories: true)
        try TestSpecs.minimal.replacingOccurrences(of: "mailu:\n", with: "mailu:\n  root: \(root)/mailu\n")
            .write(toFile: root + "/spec/mailroom.yaml", atomically: true, encoding: .utf8)
        let missing = try await MailroomBinary.run(["dkim", root + "/spec", "--state-dir", root + "/state"])
        #expect(missing.status == 1)
        #expect(missing.stdoutText.contains("key not created yet"))

        let key = root + "/mailu/dkim/example.org.dkim.key"
        try RSAKeyFile.create(at: key)
        let shown = try await MailroomBinary.run([
            "dkim", root + "/spec", "--state-dir", root + "/state", "--output", "json",
        ])
        #expect(shown.status == 0, "\(shown.stderrText)")
        let publicKey = try RSAKeyFile.publicKeyBase64(at: key)
        #expect(shown.stdoutText.contains(#""name" : "dkim._domainkey.example.org.""#), "\(shown.stdoutText)")
        #expect(shown.stdoutText.contains("v=DKIM1; k=rsa; p=\(publicKey)"))

        // Rotation: prepared next to the key, activated on request; apply never does either.
        let prepared = try await MailroomBinary.run([
            "dkim", "rotate", "example.org", root + "/spec", "--state-dir", root + "/state",
        ])
        #expect(prepared.status == 0, "\(prepared.stderrText)")
        let next = try RSAKeyFile.publicKeyBase64(at: key + ".next")
        #expect(prepared.stdoutText.contains(String(next.prefix(200))))
        #expect(try RSAKeyFile.publicKeyBase64(at: key) == publicKey)
        let activated = try await MailroomBinary.run([
            "dkim", "rotate", "example.org", root + "/spec", "--state-dir", root + "/state", "--activate",
        ])
        #expect(activated.status == 0, "\(activated.stderrText)")
        #expect(try RSAKeyFile.publicKeyBase64(at: key) == next)
        #expect(try RSAKeyFile.publicKeyBase64(at: key + ".old") == publicKey)
        var info = stat()
        #expect(stat(key, &info) == 0 && info.st_mode & 0o777 == 0o600)
    }
}
