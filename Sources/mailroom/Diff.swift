import ArgumentParser
import Foundation
import MailroomPlan
import MailroomRender
import MailroomSource
import MailroomSupport

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare the desired state at two commits: containers, files and units. No host needed.",
        discussion: """
            Renders the spec at REV_A and at REV_B from the repository's mirror and
            prints what would change between them: the preview of a pull request.
            REV_A and REV_B are commit ids, tags or branches (or expressions such as
            main~1). Secrets are not read.
            Exit status: 0 no difference, 2 different, 1 error.
            Example:
              mailroom diff --repo /srv/git/mail.git main~1 main
              mailroom diff --repo ssh://git@git.example.com/ops/mail.git v1.2 v1.3 \\
                --ssh-key ~/.ssh/id_ed25519 --known-hosts ~/.ssh/known_hosts
            """)

    @Argument(help: "The older revision (commit, tag or branch).") var from: String
    @Argument(help: "The newer revision.") var to: String
    @OptionGroup var spec: SpecOptions
    @OptionGroup var state: StateOptions
    // Secrets are not read: only where units would go changes what is compared.
    @Option(name: .customLong("units-dir"), help: "Where systemd units are installed (their paths are compared).")
    var unitsDirectory: String = "/etc/systemd/system"
    @Option(help: "Output format: text or json.") var output: OutputFormat = .text

    func validate() throws {
        if spec.repo == nil { throw ValidationError("diff compares two commits and needs --repo URL") }
        if spec.revision != nil { throw ValidationError("diff takes its two revisions as arguments; drop --revision") }
    }

    func run() async throws {
        guard case .git(let configuration) = try spec.source(stateDirectory: state.stateDirectory) else {
            throw ExitCode(1)
        }
        let gitSource = GitSource(configuration)
        let old: DesiredState
        let new: DesiredState
        do {
            try gitSource.syncMirror()
            old = try render(gitSource.snapshot(at: from))
            new = try render(gitSource.snapshot(at: to))
        } catch let error as GitError {
            FileHandle.standardError.write(Data("mailroom: \(error)\n".utf8))
            throw ExitCode(1)
        } catch let error as SpecError {
            throw reportSpecError(error)
        }
        let diff = DesiredStateDiff(from: old, to: new)
        if output == .json {
            try printJSON(diff)
        } else {
            print(
                PlanFormatter(color: useColor).format(
                    diff, title: "Mailroom diff \(from)..\(to) of \(configuration.repository)"))
        }
        if !diff.isEmpty { throw ExitCode(2) }
    }

    func render(_ snapshot: SpecSnapshot) throws -> DesiredState {
        let host = HostPaths(stateDirectory: state.stateDirectory, unitsDirectory: unitsDirectory)
        return try Pipeline(host: host, engine: nil, profile: mailroomProfile).compileWithoutHost(snapshot.spec).desired
    }
}
