import Foundation
import Testing

@testable import MailroomAgent
@testable import MailroomMailu
@testable import MailroomPlan
@testable import MailroomSupport
@testable import MailroomTestSupport

/// The agent reconciles Mailu's objects like containers: a push converges in one rollout, and
/// an object deleted in the UI comes back at the next resync. Real git, inotify and podman,
/// with the fake admin (see ``MailObjectsApplyTests``).
@Suite("Mail objects through the agent", .serialized, .tags(.podman, .git))
struct MailObjectsAgentTests {
    static let mail = """
        mail:
          users:
            alice@example.com: {password: "\(MailObjectsApplyTests.bcrypt)"}
          aliases:
            postmaster@example.com: [alice@example.com]

        """

    @Test(
        "a push that adds an alias is one rollout with exactly one import of that alias; a UI deletion comes back at resync"
    )
    func pushAndDrift() async throws {
        try await AgentHarness.with(spec: { $0.standInSpec(extra: Self.mail) }, label: "agent-mail") { a in
            let fake = MailObjectsApplyTests.Fake(root: a.deployment.root, admin: a.name("mailu-admin"))
            try await a.waitApplied(try a.repo.head())
            #expect(try fake.store()["alias"]?["postmaster@example.com"] != nil)
            let imports = try fake.imports().count
            let rollouts = a.history.rollouts.count

            let commit = try a.repo.commitAndPush(
                [
                    "mailroom.yaml": a.deployment.standInSpec(
                        extra: Self.mail.replacingOccurrences(
                            of: "    postmaster@example.com: [alice@example.com]\n",
                            with:
                                "    postmaster@example.com: [alice@example.com]\n    info@example.com: [alice@example.com]\n"
                        ))
                ], message: "an alias")
            try await a.waitApplied(commit)
            #expect(a.history.rollouts.count == rollouts + 1)
            #expect(try fake.imports().count == imports + 1)
            #expect(
                try fake.imports().last?.stdin
                    == #"{"alias":[{"destination":["alice@example.com"],"email":"info@example.com"}]}"#)

            // Deleted in the UI: the next resync puts it back.
            try await fake.byHand(#"{"alias":[{"-email":"info@example.com"}]}"#)
            #expect(try fake.store()["alias"]?["info@example.com"] == nil)
            try await a.resync()
            #expect(
                try fake.store()["alias"]?["info@example.com"]?["destination"] == .list([.string("alice@example.com")]))
            // The push's import, the deletion made by hand, the resync's import.
            #expect(try fake.imports().count == imports + 3)
            // Steady state: a further resync imports nothing.
            try await a.resync()
            #expect(try fake.imports().count == imports + 3)
        }
    }
}
