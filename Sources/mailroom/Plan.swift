import ArgumentParser
import Foundation
import MailroomHost
import MailroomPlan
import MailroomRender
import MailroomSupport

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Preview what apply would change on this host.",
        discussion: """
            Reads the host (one `podman ps`, one `podman network ls`, one batched
            inspect only for containers Mailroom has no record of, and `podman image
            exists` for the images of containers to create or recreate) and Mailu's
            objects (`flask mailu config-export` in mailu-admin), and prints the
            difference, terraform-style, with the images apply would pull first.
            Exit status: 0 in sync, 2 changes pending, 1 error.
            Example:
              mailroom plan examples/seed-guide
              mailroom plan examples/seed-guide --output json
            """)

    @OptionGroup var spec: SpecOptions
    @OptionGroup var host: HostOptions
    @Option(help: "Output format: text or json.") var output: OutputFormat = .text

    func run() async throws {
        let (source, loaded) = try await spec.load(state: host.state)
        let pipeline = host.on(spec).pipeline(engine: PodmanCLI.locate())
        let compiled: CompiledSpec
        do { compiled = try pipeline.compile(specText: loaded.text.text, file: loaded.text.file) } catch let error
            as SpecError
        {
            throw reportSpecError(error)
        }
        let (plan, _) = try await pipeline.plan(compiled)
        if output == .json {
            try printJSON(plan)
        } else {
            let host = compiled.explicit.layout.map { " (host \($0.current))" } ?? ""
            print(PlanFormatter(color: useColor).format(plan, title: "Mailroom plan for \(source.name)\(host)"))
        }
        if !plan.conflicts.isEmpty { throw ExitCode(1) }
        if plan.hasChanges { throw ExitCode(2) }
    }
}
