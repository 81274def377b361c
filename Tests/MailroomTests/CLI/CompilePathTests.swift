import Foundation
import Testing

@testable import MailroomApply
@testable import MailroomSupport
@testable import MailroomTestSupport

/// Every command compiles through one path, so they refuse a spec with the same problems.
/// Before, `apply` parsed first and stopped at the unknown key, while `validate` went on and
/// also found the address outside the subnet.
@Suite("One compile path for every command", .tags(.podman))
struct CompilePathTests {
    static let broken =
        TestSpecs.minimal + """
            prefx: typo
            containers:
              mailu-smtp:
                ip: 10.99.0.5

            """

    @Test("validate, render, plan and apply --dry-run each report the unknown key and the address outside the subnet")
    func everyCommandReportsEveryProblem() async throws {
        try await TestDeployment.with { deployment in try await check(deployment) }
    }

    func check(_ deployment: TestDeployment) async throws {
        try deployment.writeSpec(Self.broken)
        let file = deployment.specDirectory + "/mailroom.yaml"
        for command in [["validate"], ["render"], ["plan"], ["apply", "--dry-run"]] {
            // validate takes only the state directory: it checks the spec, not the host.
            let result =
                command == ["validate"]
                ? try await MailroomBinary.run(
                    command + [deployment.specDirectory], state: deployment.host.stateDirectory)
                : try await MailroomBinary.run(command + [deployment.specDirectory], host: deployment.host)
            let name = command.joined(separator: " ")
            // `apply` prints its refusal as its report (stdout); the others print the error (stderr).
            let output = result.stdoutText + result.stderrText
            #expect(result.status == 1, "\(name): exit \(result.status)")
            #expect(
                output.contains("\(file):11:1: prefx: unknown key 'prefx' (did you mean 'prefix'?)"),
                "\(name):\n\(output)")
            #expect(
                output.contains("\(file):14:9: containers.mailu-smtp.ip: 10.99.0.5 is outside"), "\(name):\n\(output)")
            #expect(output.contains("(2 problems)"), "\(name):\n\(output)")
        }
        // The refusal changed nothing on the host.
        #expect(!FileManager.default.fileExists(atPath: StateDirectory(deployment.host.stateDirectory).applied))

        // A real apply refuses the same way and says so in the journal, with both problems.
        let applied = try await MailroomBinary.run(["apply", deployment.specDirectory, "--yes"], host: deployment.host)
        #expect(applied.status == 1)
        let refused = try #require(RolloutHistory.load(stateDirectory: deployment.host.stateDirectory).rollouts.last)
        #expect(refused.status == .refused && refused.steps.isEmpty)
        #expect(
            refused.error?.contains("unknown key 'prefx'") == true
                && refused.error?.contains("10.99.0.5 is outside") == true)
        #expect(!FileManager.default.fileExists(atPath: StateDirectory(deployment.host.stateDirectory).applied))
        #expect(try await !TestPodman.podman().listNetworks().contains { $0.name == "mailu" })
    }
}
