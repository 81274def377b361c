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
            main~1). Secrets are not read. A spec with hosts: compares the share of
            --host (default: this machine's hostname), or of every host with --all-hosts.
            Exit status: 0 no difference, 2 different, 1 error.
            Example:
              mailroom diff --repo /srv/git/mail.git main~1 main
              mailroom diff --repo ssh://git@git.example.com/ops/mail.git v1.2 v1.3 \\
                --ssh-key ~/.ssh/id_ed25519 --known-hosts ~/.ssh/known_hosts
              mailroom diff --repo /srv/git/mail.git main~1 main --all-hosts
            """)

    @Argument(help: "The older revision (commit, tag or branch).") var from: String
    @Argument(help: "The newer revision.") var to: String
    @OptionGroup var spec: SpecOptions
    @OptionGroup var state: StateOptions
    // Secrets are not read: only where units would go changes what is compared.
    @Option(name: .customLong("units-dir"), help: "Where systemd units are installed (their paths are compared).")
    var unitsDirectory: String = "/etc/systemd/system"
    @Option(help: "Output format: text or json.") var output: OutputFormat = .text
    @Flag(help: "Compare every host of the spec's hosts: section, one after the other.") var allHosts = false

    func validate() throws {
        if allHosts, spec.hostName != nil { throw ValidationError("give either --host or --all-hosts, not both") }
        if spec.repo == nil { throw ValidationError("diff compares two commits and needs --repo URL") }
        if spec.revision != nil { throw ValidationError("diff takes its two revisions as arguments; drop --revision") }
    }

    func run() async throws {
        guard case .git(let configuration) = try spec.source(stateDirectory: state.stateDirectory) else {
            throw ExitCode(1)
        }
        let gitSource = GitSource(configuration)
        var diffs: [(host: String?, diff: DesiredStateDiff)] = []
        do {
            try gitSource.syncMirror()
            let old = try gitSource.snapshot(at: from)
            let new = try gitSource.snapshot(at: to)
            // Every host named at either commit: a host added or removed is all creations or removals.
            var hosts: [String?] = allHosts ? [] : [spec.hostName]
            for name in allHosts ? try hostNames(old) + hostNames(new) : [] where !hosts.contains(name) {
                hosts.append(name)
            }
            for host in hosts.isEmpty ? [nil] : hosts {
                diffs.append(
                    (host, DesiredStateDiff(from: try render(old, host: host), to: try render(new, host: host))))
            }
        } catch let error as GitError {
            FileHandle.standardError.write(Data("mailroom: \(error)\n".utf8))
            throw ExitCode(1)
        } catch let error as SpecError {
            throw reportSpecError(error)
        }
        if output == .json {
            if allHosts {
                try printJSON(Dictionary(diffs.map { ($0.host ?? "", $0.diff) }, uniquingKeysWith: { a, _ in a }))
            } else {
                try printJSON(diffs[0].diff)
            }
        } else {
            for (host, diff) in diffs {
                let title = "Mailroom diff \(from)..\(to) of \(configuration.repository)"
                print(PlanFormatter(color: useColor).format(diff, title: title + (host.map { " (host \($0))" } ?? "")))
            }
        }
        if diffs.contains(where: { !$0.diff.isEmpty }) { throw ExitCode(2) }
    }

    /// The names under `hosts:` at one commit; none for a single-host spec.
    func hostNames(_ snapshot: SpecSnapshot) throws -> [String] {
        try Pipeline(host: HostPaths(), engine: nil, profile: mailroomProfile).compiler.read(snapshot.spec).hosts.map(
            \.name)
    }

    /// The desired state at one commit; a host the spec does not name there has none.
    func render(_ snapshot: SpecSnapshot, host name: String?) throws -> DesiredState {
        let host = HostPaths(stateDirectory: state.stateDirectory, unitsDirectory: unitsDirectory, hostName: name)
        let pipeline = Pipeline(host: host, engine: nil, profile: mailroomProfile)
        if allHosts, let name, try !hostNames(snapshot).contains(name) { return .empty }
        return try pipeline.compileWithoutHost(snapshot.spec).desired
    }
}
