import Foundation
import Testing

@testable import MailroomHost
@testable import MailroomMailu
@testable import MailroomTestSupport

/// The generated `mta-sts.<domain>` site read by Debian's real `caddy`: it validates, and Caddy
/// adapts it into a route that answers the policy path with exactly the policy text.
@Suite(.tags(.os)) struct MTASTSCaddyTests {
    @Test func caddyServesThePolicyText() async throws {
        let spec = try PureTests.MTASTSRecordsTests.spec("  mta_sts: {mode: testing}\n")
            .replacingOccurrences(of: "caddy:\n", with: "caddy:\n  tls: internal\n")
        let compiled = try Fixtures.compile(spec)
        let settings = try #require(compiled.spec.settings as? MailuSettings)
        let policy = try #require(MailuDNS.mtaSTSPolicy(settings))
        let site = try #require(compiled.desired.files.first { $0.path.hasSuffix("/mta-sts.example.com.Caddyfile") })
        let directory = try GeneratedFilesTests.tempDirectory("mta-sts")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/mta-sts.Caddyfile"
        try site.content.write(toFile: path, atomically: true, encoding: .utf8)

        let validate = try await ProcessRunner().run([
            "/usr/bin/caddy", "validate", "--config", path, "--adapter", "caddyfile",
        ])
        #expect(validate.succeeded, "\(validate.stderrText)")
        let adapted = try await ProcessRunner().run([
            "/usr/bin/caddy", "adapt", "--config", path, "--adapter", "caddyfile",
        ])
        #expect(adapted.succeeded, "\(adapted.stderrText)")
        // The JSON route: the policy path, then a static response whose body is the policy.
        let json = adapted.stdoutText
        #expect(json.contains("\"path\":[\"/.well-known/mta-sts.txt\"]"))
        let body = try JSONEncoder().encode(policy)
        #expect(json.contains("\"body\":\(String(decoding: body, as: UTF8.self))"), "\(json)")
        #expect(json.contains("\"status_code\":404"))
    }
}
