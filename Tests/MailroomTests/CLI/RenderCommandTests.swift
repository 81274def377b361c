import Foundation
import Testing

@testable import MailroomSupport
@testable import MailroomTestSupport

@Suite("render")
struct RenderCommandTests {
    @Test("render --out without a secrets file says the files hold empty secrets, as plan warns")
    func emptySecretsAreAnnounced() async throws {
        let root = NSTemporaryDirectory() + "mailroom-render-secrets-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let host = HostPaths(
            stateDirectory: root + "/state", unitsDirectory: root + "/units", secretsFile: root + "/missing.env")
        let result = try await MailroomBinary.run(
            ["render", Fixtures.minimal, "--out", root + "/out"], host: host)
        #expect(result.status == 0)
        #expect(result.stderrText.contains("warning: secrets file \(root)/missing.env does not exist"))
        #expect(result.stderrText.contains("hold empty secrets"))
        let env = try String(contentsOfFile: root + "/out/podmandirectory/mailu/mailu.env", encoding: .utf8)
        #expect(env.contains("SECRET_KEY=\n"))
    }
}

@Suite("spec argument")
struct SpecArgumentTests {
    @Test("the spec argument may name the file itself; a missing directory is said to be missing")
    func fileOrDirectory() async throws {
        let state = NSTemporaryDirectory() + "mailroom-arg-\(getpid())"
        let file = try await MailroomBinary.run(["validate", Fixtures.minimal + "/mailroom.yaml"], state: state)
        #expect(file.status == 0, "\(file.stderrText)")
        #expect(file.stdoutText.contains("mailroom.yaml: valid"))
        let missing = try await MailroomBinary.run(["validate", "/nonexistent-spec-directory"], state: state)
        #expect(missing.status == 1)
        #expect(
            missing.stderrText
                == "mailroom: there is no directory /nonexistent-spec-directory (pass the directory that holds mailroom.yaml)"
        )
        let empty = try await MailroomBinary.run(["validate", Fixtures.repositoryRoot + "/contrib"], state: state)
        #expect(empty.status == 1)
        #expect(empty.stderrText.contains("there is no mailroom.yaml in \(Fixtures.repositoryRoot)/contrib"))
    }
}
