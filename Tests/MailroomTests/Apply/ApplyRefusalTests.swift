import Foundation
import Testing

@testable import MailroomApply
@testable import MailroomTestSupport

@Suite("Apply refuses, changing nothing", .serialized, .tags(.podman))
struct ApplyRefusalTests {
    @Test("an invalid spec, missing secrets, a conflicting network, a held lock")
    func refusals() async throws {
        try await ApplyHarness.with { h in try await refusals(h) }
    }

    func refusals(_ h: ApplyHarness) async throws {
        let state = h.deployment.host.stateDirectory

        // Step 1: invalid spec: refused in the journal, naming file:line and field; podman never called.
        let invalid = h.deployment.standInSpec().replacingOccurrences(
            of: "  subnet: 10.213.", with: "  subnet: 300.213.")
        let bad = try await h.apply(invalid)
        #expect(bad.status == .refused)
        #expect(h.recorder.podmanCalls.isEmpty)
        let diagnostic = try #require(bad.diagnostics.first)
        #expect(diagnostic.field == "network.subnet" && diagnostic.location.line == 4)
        var last = try #require(h.history.rollouts.last)
        #expect(last.status == .refused)
        #expect(last.error?.contains("mailroom.yaml:4:") == true && last.error?.contains("network.subnet") == true)

        // Step 2: missing secrets.
        let good = h.deployment.standInSpec()
        try FileManager.default.removeItem(atPath: h.deployment.host.secretsFile)
        let noSecrets = try await h.apply(good)
        #expect(noSecrets.status == .refused)
        #expect(noSecrets.error?.contains("secrets file") == true)
        #expect(h.recorder.podmanCalls.isEmpty)
        try "SECRET_KEY=x\n".write(toFile: h.deployment.host.secretsFile, atomically: true, encoding: .utf8)
        chmod(h.deployment.host.secretsFile, 0o600)

        // Step 3: a network of that name with other subnets: never replaced.
        try await TestPodman.run([
            "network", "create", "--disable-dns", "--subnet", "10.213.\(h.deployment.index).0/25",
            h.deployment.networkName,
        ])
        h.recorder.reset()
        let conflict = try await h.apply(good)
        #expect(conflict.status == .refused)
        #expect(conflict.error?.contains("never replaces a network") == true)
        #expect(h.recorder.mutatingPodmanCalls.isEmpty)
        last = try #require(h.history.rollouts.last)
        #expect(last.status == .refused)
        #expect(try await h.containers().isEmpty)

        // Step 4: another apply holds the lock.
        let lock = try ApplyLock.acquire(stateDirectory: state)
        await #expect(throws: ApplyError(.locked, "")) { try await h.apply(good) }
        let cli = try await MailroomBinary.run(["apply", h.deployment.specDirectory, "--yes"], host: h.deployment.host)
        #expect(cli.status == 75)
        #expect(cli.stderrText.contains("process \(getpid()) is applying"))
        lock.release()

        // Step 5: flag misuse is a usage error (64), before anything runs.
        let usage = try await MailroomBinary.run(
            ["apply", h.deployment.specDirectory, "--output", "json"], host: h.deployment.host)
        #expect(usage.status == 64)
        #expect(h.history.rollouts.map(\.status) == [.refused, .refused, .refused])
    }
}
