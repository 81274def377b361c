import Foundation
import Testing

@testable import MailroomAgent
@testable import MailroomApply
@testable import MailroomTestSupport

/// The agent against faults from outside that concern its source.
@Suite("Agent: faults from outside", .serialized, .tags(.podman, .git))
struct AgentFaultTests {
    @Test("a force-push that rewrites the applied commit: the agent follows the new tip and applies it")
    func forcePushRewritesApplied() async throws {
        try await AgentHarness.with(spec: { $0.standInSpec() }, label: "agent-force") { a in
            let webdav = a.name("mailu-webdav")
            let base = try a.repo.head()
            try await a.waitApplied(base)
            let applied = try a.repo.commitAndPush(
                ["mailroom.yaml": a.deployment.standInSpec(overrides: ["mailu-webdav": ["env": "{FEATURE: \"a\"}"]])],
                message: "feature a")
            try await a.waitApplied(applied)

            // History rewritten under the agent: the applied commit is no longer on the branch.
            try a.repo.git("reset", "--quiet", "--hard", base)
            let rewritten = try a.repo.commit(
                ["mailroom.yaml": a.deployment.standInSpec(overrides: ["mailu-webdav": ["env": "{FEATURE: \"b\"}"]])],
                message: "feature b")
            try a.repo.git("push", "--quiet", "--force", "origin", "main")
            try await a.waitApplied(rewritten)
            let status = try await a.status()
            #expect(status.badCommit == nil && status.degraded.isEmpty)
            #expect(try await a.containers()[webdav]?.labels["mailroom.commit"] == rewritten)
            let last = try #require(a.history.rollouts.last { $0.commit == rewritten })
            #expect(last.status == .succeeded)
        }
    }
}
