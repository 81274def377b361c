import Foundation
import Testing

@testable import MailroomSupport

extension PureTests {
    /// What the fuzz target found stays refused.
    @Suite("Fuzz findings", .tags(.pure))
    struct FuzzFindingsTests {
        static let directory = Fixtures.repositoryRoot + "/Tests/Fuzz/findings"

        static var findings: [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".yaml") }
                .sorted()
        }

        @Test("every finding is refused with at least one problem", arguments: findings)
        func refused(_ name: String) throws {
            // As the CLI reads a spec: bytes that are not UTF-8 become U+FFFD.
            let data = try #require(FileManager.default.contents(atPath: Self.directory + "/" + name))
            let text = String(decoding: data, as: UTF8.self)
            #expect(!Fixtures.diagnostics(text).isEmpty)
        }

        @Test("the findings are there to replay")
        func findingsExist() {
            #expect(Self.findings.count >= 8)
        }
    }
}
