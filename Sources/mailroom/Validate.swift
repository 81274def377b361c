import ArgumentParser
import Foundation
import MailroomPlan
import MailroomSupport

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a spec and report every problem with file:line:column.",
        discussion: """
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
            let compiled = try state.pipeline(hostName: spec.hostName).compileWithoutHost(loaded.text)
            if output == .json {
                try printJSON(
                    ValidationReport(valid: true, diagnostics: [], containers: compiled.desired.containers.count))
            } else {
                print(
                    "\(source.name): valid (\(compiled.desired.containers.count) containers, \(compiled.desired.files.count) files)"
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
}
