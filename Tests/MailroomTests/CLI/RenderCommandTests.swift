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
        let host = HostPaths(stateDirectory: root + "/state", unitsDirectory: root + "/units", secretsFile: root + "/missing.env")
        let result = try await MailroomBinary.run(
            ["render", Fixtures.minimal, "--out", root + "/out"], host: host)
        #expect(result.status == 0)
        #expect(result.stderr.contains("warning: secrets file \(root)/missing.env does not exist"))
        #expect(result.stderr.contains("hold empty secrets"))
        let env = try String(contentsOfFile: root + "/out/podmandirectory/mailu/mailu.env", encoding: .utf8)
        #expect(env.contains("SECRET_KEY=\n"))
    }
}
