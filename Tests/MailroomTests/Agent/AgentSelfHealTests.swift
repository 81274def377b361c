import Foundation
import Testing
@testable import MailroomAgent
@testable import MailroomHost
@testable import MailroomTestSupport

/// Self-heal backoff with a real agent, podman events and the 13 stand-ins; the agent listens
/// on IPv6 loopback here, to cover that too.
@Suite("Agent self-heal backoff", .serialized, .tags(.podman, .git))
struct AgentSelfHealTests {
    @Test("a container in self-heal backoff waits its turn without holding up other put-backs; the listener serves [::1]")
    func backoffDoesNotBlock() async throws {
        try await AgentHarness.with(spec: { $0.standInSpec() }, label: "agent-heal", configure: { config in
            config.listenHost = "::1"
            config.selfHealRestarts = 6
        }) { a in try await Self.backoffScenario(a) }
    }

    static func backoffScenario(_ a: AgentHarness.Running) async throws {
        let listen = ListenAddress(host: "::1", port: a.port)
        func status() async throws -> AgentStatus { try AgentStatus.decode(try await TestHTTP.get(listen, path: "/status")) }
        func idle() async throws -> Bool { !(try await status().reconciling) }
        let webdav = a.name("mailu-webdav"), imap = a.name("mailu-imap")
        let head = try a.repo.head()
        try await waitFor("first rollout over [::1]") {
            let s = try await status()
            return s.appliedCommit == head && !s.reconciling
        }

        // Four put-backs; each waits for the last one plus 0, 0, 1 and 2 s. The fifth waits 4 s.
        for round in 1...4 {
            let before = try await a.containers()[webdav]?.id
            try await TestPodman.run(["rm", "-f", "-t", "0", webdav])
            try await waitFor("mailu-webdav back (\(round))") {
                guard let now = try await a.containers()[webdav] else { return false }
                return now.id != before && now.state == "running"
            }
            try await waitFor("idle", idle)
        }
        let fourth = try #require(a.history.rollouts.last { $0.changes.contains { $0.contains(webdav) } })

        // The fifth removal is held; imap, removed just after, is put back meanwhile.
        let journaled = a.history.rollouts.count
        try await TestPodman.run(["rm", "-f", "-t", "0", webdav])
        try await TestPodman.run(["rm", "-f", "-t", "0", imap])
        try await waitFor("both back") {
            let now = try await a.containers()
            return now[webdav]?.state == "running" && now[imap]?.state == "running"
        }
        try await waitFor("idle", idle)
        let later = a.history.rollouts.dropFirst(journaled).filter { $0.status == .succeeded }
        let imapRollout = try #require(later.first { $0.changes.contains { $0.contains(imap) } })
        let webdavRollout = try #require(later.first { $0.changes.contains { $0.contains(webdav) } })
        #expect(!imapRollout.changes.contains { $0.contains(webdav) }, "imap's put-back must leave webdav to its backoff: \(imapRollout.changes)")
        #expect(imapRollout.started <= webdavRollout.started)
        let waited = webdavRollout.started.timeIntervalSince(fourth.ended ?? fourth.started)
        #expect(waited >= 3.5, "webdav came back \(waited) s after its last put-back; its backoff is 4 s")
        #expect(try await status().degraded.isEmpty)

        // The CLI reads the same listener through --listen [::1]:PORT.
        let shown = try await ProcessRunner().run([try MailroomBinary.path, "status", "--listen", "[::1]:\(a.port)"])
        #expect(shown.status == 0 && shown.stdoutText.contains(String(head.prefix(12))), "\(shown.stdoutText)\(shown.stderrText)")
    }
}
