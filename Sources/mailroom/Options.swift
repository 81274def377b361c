import ArgumentParser
import Foundation
import Logging
import MailroomAgent
import MailroomHost
import MailroomMailu
import MailroomPlan
import MailroomSource
import MailroomSpec
import MailroomSupport

/// Where the spec comes from: a directory (the first argument), or a git repository.
struct SpecOptions: ParsableArguments {
    @Argument(help: "The spec directory, holding mailroom.yaml (not with --repo).", completion: .directory)
    var spec: String = "."

    @Option(help: "Read the spec from this git repository: a path, file://, https://, ssh:// or user@host:path.")
    var repo: String?

    @Option(help: "The branch to follow (default: main).") var branch: String?

    @Option(name: .customLong("path"), help: "The spec directory inside the repository (default: its root).")
    var specPath: String?

    @Option(help: "Pin a commit, tag or branch instead of following --branch.") var revision: String?

    @Option(
        name: .customLong("host"),
        help: "Which of the spec's hosts: this machine is (default: its hostname; not needed for a single-host spec).")
    var hostName: String?

    @Option(name: .customLong("token-file"), help: "File holding an access token for an https:// repository.")
    var tokenFile: String?

    @Option(name: .customLong("ssh-key"), help: "Private key file for an ssh repository.") var sshKey: String?

    @Option(
        name: .customLong("known-hosts"), help: "known_hosts file for an ssh repository; unknown host keys are refused."
    )
    var knownHosts: String?

    func validate() throws {
        if repo == nil {
            let gitOnly: [(String, String?)] = [
                ("--branch", branch), ("--path", specPath), ("--revision", revision), ("--token-file", tokenFile),
                ("--ssh-key", sshKey), ("--known-hosts", knownHosts),
            ]
            if let flag = gitOnly.first(where: { $0.1 != nil }) {
                throw ValidationError("\(flag.0) reads the spec from git and needs --repo URL")
            }
        } else if spec != "." {
            throw ValidationError("give either a spec directory (\(spec)) or --repo, not both")
        }
    }

    /// The source these options name; the mirror lives in the state directory.
    func source(stateDirectory: String) throws -> SpecSource {
        guard let repo else { return .directory(spec) }
        return .git(
            try SourceConfiguration(
                repository: repo, branch: branch ?? "main", revision: revision, path: specPath ?? "",
                credentials: GitCredentials(tokenFile: tokenFile, sshKey: sshKey, knownHosts: knownHosts),
                stateDirectory: stateDirectory))
    }

    /// Reads the spec's text; git and file errors are printed and exit 1.
    func load(state: StateOptions) async throws -> (source: SpecSource, loaded: SpecSource.Loaded) {
        do {
            let source = try source(stateDirectory: state.stateDirectory)
            return (source, try await source.load(logger: sourceLogger))
        } catch let error as SpecError {
            throw reportSpecError(error)
        } catch let error as GitError {
            FileHandle.standardError.write(Data("mailroom: \(error)\n".utf8))
            throw ExitCode(1)
        } catch let error as SpecFileError {
            FileHandle.standardError.write(Data("mailroom: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// Git progress and force-push notices go to stderr.
let sourceLogger: Logger = {
    var logger = Logger(label: "mailroom.source")
    logger.logLevel = .notice
    return logger
}()

/// Where Mailroom keeps its state: all that commands which only read the journal, the agent's
/// control file or a git mirror take.
struct StateOptions: ParsableArguments {
    @Option(name: .customLong("state-dir"), help: "State directory (applied record, journal, git mirror).")
    var stateDirectory: String = "/var/lib/mailroom"

    /// The pipeline without this host's units or secrets: what `validate` and `diff` need.
    var pipeline: Pipeline { pipeline(hostName: nil) }

    /// The same, rendering the share of the spec's host `hostName`.
    func pipeline(hostName: String?) -> Pipeline {
        Pipeline(
            host: HostPaths(stateDirectory: stateDirectory, hostName: hostName), engine: nil, profile: mailroomProfile)
    }
}

/// Where Mailroom keeps its state and finds host files: for commands that plan or change the host.
struct HostOptions: ParsableArguments {
    @OptionGroup var state: StateOptions

    var stateDirectory: String { state.stateDirectory }

    @Option(name: .customLong("units-dir"), help: "Where systemd units are installed.")
    var unitsDirectory: String = "/etc/systemd/system"

    @Option(
        name: .customLong("secrets-file"), help: "Local KEY=value file with the secrets the spec names (mode 0600).")
    var secretsFile: String = "/etc/mailroom/secrets.env"

    /// Which of the spec's `hosts:` this machine is; the commands that read a spec set it from `--host`.
    var hostName: String?

    var paths: HostPaths {
        HostPaths(
            stateDirectory: stateDirectory, unitsDirectory: unitsDirectory, secretsFile: secretsFile,
            hostName: hostName)
    }

    /// The pipeline on these paths with the CLI's profile; `engine` nil plans against an empty host.
    func pipeline(engine: (any ContainerEngine)? = nil) -> Pipeline {
        Pipeline(host: paths, engine: engine, profile: mailroomProfile)
    }

    /// These options for the host `--host` names.
    func on(_ spec: SpecOptions) -> HostOptions {
        var options = self
        options.hostName = spec.hostName
        return options
    }
}

/// The application profile every command compiles specs with.
let mailroomProfile: any Profile = MailuProfile()

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// Colour only on a terminal, and never with NO_COLOR set.
var useColor: Bool {
    isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"].map(\.isEmpty) ?? true
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .internetTime
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Prints a spec error to stderr and exits 1: the spec was not used.
func reportSpecError(_ error: SpecError) -> ExitCode {
    FileHandle.standardError.write(Data((error.description + "\n").utf8))
    return ExitCode(1)
}

extension ListenAddress: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}
