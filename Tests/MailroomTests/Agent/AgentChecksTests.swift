import Foundation
import Testing

@testable import MailroomAgent
@testable import MailroomHost
@testable import MailroomSupport
@testable import MailroomTestSupport

/// The agent's periodic host checks, end to end: a real port check that flips while the agent
/// runs, seen on `/status` and `/metrics` at the next run.
@Suite("Agent host checks", .tags(.podman, .git), .timeLimit(.minutes(10)))
struct AgentChecksTests {
    @Test("a port taken, then freed: the next periodic run shows each on /status and /metrics")
    func portFlips() async throws {
        let listener = try DoctorHostTests.Listener()
        defer { listener.close() }
        let needs = HostRequirements(
            memoryBytes: 2 << 30, memoryReason: "2 GiB", memoryPlusSwapBytes: 5 << 30,
            ports: [.init(port: listener.port, address: "127.0.0.1", container: "test-front")])
        let root = DoctorFixtures.root("enough-memory")
        // Real checks: this machine's sockets, and memory from a fixture root.
        let checks: PeriodicChecks.Checks = {
            let facts = HostFacts.read()
            let taken = facts.listeners.filter { $0.port == listener.port }
            return HostChecks.memory(HostFacts.read(root: root), needs)
                + HostChecks.ports(needs, listeners: taken, holders: facts.holders(of: Set(taken.map(\.inode))))
        }
        let name = "port \(listener.port)/tcp"
        try await AgentHarness.with(
            spec: { $0.standInSpec() }, label: "agent-checks",
            configure: {
                $0.dryRun = true
                $0.checkInterval = .milliseconds(200)
            }, checks: checks
        ) { a in
            func check() async throws -> LiveCheckResult? {
                try await a.status().checks.first { $0.name == name }
            }
            func metrics() async throws -> String {
                String(
                    decoding: try await TestHTTP.get(URL(string: "http://127.0.0.1:\(a.port)/metrics")!), as: UTF8.self)
            }
            try await waitFor("the taken port on /status") { try await check()?.verdict == .wrong }
            let status = try await a.status()
            #expect(status.checksRanAt != nil)
            #expect(status.checks.first { $0.name == "memory" }?.verdict == .ok)
            #expect(status.text.contains("wrong \(name): in use: 127.0.0.1 by "))
            #expect(status.text.contains("fix: stop what listens on \(listener.port)"))
            let gauge = "mailroom_check_ok{group=\"network\",name=\"\(name)\"}"
            try await waitFor("the taken port on /metrics") { try await metrics().contains("\(gauge) 0\n") }
            #expect(try await metrics().contains("mailroom_check_ok{group=\"host\",name=\"memory\"} 1\n"))
            #expect(try await metrics().contains("mailroom_checks_last_run_timestamp_seconds "))

            listener.close()
            try await waitFor("the freed port on /status") { try await check()?.verdict == .ok }
            try await waitFor("the freed port on /metrics") { try await metrics().contains("\(gauge) 1\n") }
            #expect(!(try await a.status().text.contains(name)))
        }
    }

    @Test("check_interval: off runs no checks; /status has none and /metrics no check gauges")
    func checksOff() async throws {
        try await AgentHarness.with(
            spec: { $0.standInSpec() }, label: "agent-nochecks",
            configure: {
                $0.dryRun = true
                $0.checkInterval = nil
            }, checks: { [LiveCheckResult(group: "host", name: "never", verdict: .wrong, detail: "")] }
        ) { a in
            #expect(a.agent.checks == nil)
            let status = try await a.status()
            #expect(status.checks.isEmpty && status.checksRanAt == nil)
            let metrics = String(
                decoding: try await TestHTTP.get(URL(string: "http://127.0.0.1:\(a.port)/metrics")!), as: UTF8.self)
            #expect(!metrics.contains("mailroom_check_ok"))
        }
    }
}
