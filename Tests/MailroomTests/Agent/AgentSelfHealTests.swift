import Foundation
import Testing

@testable import MailroomAgent
@testable import MailroomHost
@testable import MailroomTestSupport

/// Self-heal backoff with a real agent, podman events and the 13 stand-ins; the agent listens
/// on IPv6 loopback here, to cover that too.
@Suite("Agent self-heal backoff", .serialized, .tags(.podman, .git))
struct AgentSelfHealTests {
    @Test(
        "a container in self-heal backoff waits its turn without holding up other put-backs; the listener serves [::1]")
    func backoffDoesNotBlock() async throws {
        try await AgentHarness.with(
            spec: { $0.standInSpec() }, label: "agent-heal",
            configure: { config in
                config.listenHost = "::1"
                // Room for the longer holds below, all inside one window.
                config.selfHealRestarts = 12
                config.selfHealWindow = .seconds(3600)
            }
        ) { a in try await Self.backoffScenario(a) }
    }

    /// The hold before the put-back that follows `putBacks` put-backs in the window
    /// (``SelfHealBudget``): 0 after one, then 1 s, 2 s, 4 s ... up to 30 s.
    static func hold(after putBacks: Int) -> Double { putBacks > 1 ? Double(min(30, 1 << min(putBacks - 2, 5))) : 0 }

    static func backoffScenario(_ a: AgentHarness.Running) async throws {
        let listen = ListenAddress(host: "::1", port: a.port)
        func status() async throws -> AgentStatus {
            try AgentStatus.decode(try await TestHTTP.get(listen, path: "/status"))
        }
        func idle() async throws -> Bool { !(try await status().reconciling) }
        let webdav = a.name("mailu-webdav")
        let imap = a.name("mailu-imap")
        let head = try a.repo.head()
        try await waitFor("first rollout over [::1]") {
            let s = try await status()
            return s.appliedCommit == head && !s.reconciling
        }

        // Step 1: four put-backs of webdav; each waits for the last one plus 0, 0, 1 and 2 s.
        for round in 1...4 {
            let before = try await a.containers()[webdav]?.id
            try await TestPodman.run(["rm", "-f", "-t", "0", webdav])
            try await waitFor("mailu-webdav back (\(round))") {
                guard let now = try await a.containers()[webdav] else { return false }
                return now.id != before && now.state == "running"
            }
            try await waitFor("idle", idle)
        }
        var putBacks = 4

        // Step 2: webdav removed again is held for its backoff; imap, removed just after, is put
        // back meanwhile, without webdav. That needs imap's removal to reach the agent within
        // the hold, which is the machine's to give: a try where it did not (imap's rollout began
        // after the hold) shows nothing, and the next try has twice the hold (4, 8, 16, 30 s).
        var shown = false
        for _ in 1...4 where !shown {
            let hold = Self.hold(after: putBacks)
            let last = try #require(
                a.history.rollouts.last { $0.status == .succeeded && $0.changes.contains { $0.contains(webdav) } })
            let journaled = a.history.rollouts.count
            try await TestPodman.run(["rm", "-f", "-t", "0", webdav])
            try await TestPodman.run(["rm", "-f", "-t", "0", imap])
            try await waitFor("both back") {
                let now = try await a.containers()
                return now[webdav]?.state == "running" && now[imap]?.state == "running"
            }
            try await waitFor("idle", idle)
            putBacks += 1
            let later = a.history.rollouts.dropFirst(journaled).filter { $0.status == .succeeded }
            let imapRollout = try #require(later.first { $0.changes.contains { $0.contains(imap) } })
            let webdavRollout = try #require(later.first { $0.changes.contains { $0.contains(webdav) } })
            // webdav is held at least until `hold` after the last put-back's journal end.
            let lastEnded = last.ended ?? last.started
            guard imapRollout.started.timeIntervalSince(lastEnded) < hold else { continue }
            #expect(
                !imapRollout.changes.contains { $0.contains(webdav) },
                "imap's put-back must leave webdav to its backoff: \(imapRollout.changes)")
            #expect(imapRollout.started <= webdavRollout.started)
            let waited = webdavRollout.started.timeIntervalSince(lastEnded)
            #expect(
                waited >= hold - 0.5, "webdav came back \(waited) s after its last put-back; its backoff is \(hold) s")
            shown = true
        }
        #expect(shown, "imap's removal never reached the agent within webdav's hold, up to 30 s")
        #expect(try await status().degraded.isEmpty)

        // Step 3: the CLI reads the same listener through --listen [::1]:PORT.
        let shownStatus = try await MailroomBinary.run(["status", "--listen", "[::1]:\(a.port)"])
        #expect(
            shownStatus.status == 0 && shownStatus.stdoutText.contains(String(head.prefix(12))),
            "\(shownStatus.stdoutText)\(shownStatus.stderrText)")
    }
}
