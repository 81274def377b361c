import ArgumentParser
import Foundation
import MailroomPlan
import MailroomSupport

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a spec and report every problem with file:line:column.",
        discussion: """
            A spec with hosts: is checked for every host; --host checks and counts one.
            Exit status: 0 when the spec is valid, 1 when it is not.
            Example:
              mailroom validate examples/seed-guide
            """)

    @OptionGroup var spec: SpecOptions
    @OptionGroup var state: StateOptions
    @Option(help: "Output format: text or json.") var output: OutputFormat = .text

    func run() async throws {
        let (source, loaded) = try await spec.load(state: state)
        do {
            // A spec with `hosts:` is valid for every host or none: without --host all are
            // checked and counted (CI validates a repository on no host of it).
            let pipeline = state.pipeline(hostName: spec.hostName)
            let compiled =
                spec.hostName == nil
                ? try pipeline.compileDeployment(loaded.text) : try pipeline.compileWithoutHost(loaded.text)
            let hosts = spec.hostName == nil ? compiled.spec.hosts.map(\.name) : []
            if output == .json {
                try printJSON(
                    ValidationReport(
                        valid: true, diagnostics: [], containers: compiled.desired.containers.count,
                        hosts: hosts.isEmpty ? nil : hosts))
            } else {
                let over = hosts.isEmpty ? "" : ", every host: \(hosts.joined(separator: ", "))"
                print(
                    "\(source.name): valid (\(compiled.desired.containers.count) containers, \(compiled.desired.files.count) files\(over))"
                )
            }
        } catch let error as SpecError {
            if output == .json {
                try printJSON(ValidationReport(valid: false, diagnostics: error.diagnostics, containers: 0))
                throw ExitCode(1)
            }
            throw reportSpecError(error)
        }
    }
}

struct ValidationReport: Encodable {
    var valid: Bool
    var diagnostics: [SpecDiagnostic]
    var containers: Int
    /// The hosts checked, for a spec with `hosts:` validated without `--host`.
    var hosts: [String]? = nil
}
