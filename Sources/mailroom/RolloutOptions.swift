import ArgumentParser
import Foundation
import Logging
import MailroomApply
import MailroomHost
import MailroomPlan
import MailroomSupport

/// Flags shared by `apply` and `rollback`.
struct RolloutOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Apply without asking.") var yes = false
    @Flag(help: "Print the plan and the steps it would run; change nothing.") var dryRun = false
    @Option(help: "Seconds each started container may take to run and pass its health check.") var healthTimeout:
        Double = 300
    @Flag(help: "Allow lowering the Mailu version of a running deployment (Mailu upgrades cannot be undone).")
    var force = false
    @Option(help: "Output format: text or json.") var output: OutputFormat = .text

    func validate() throws {
        if healthTimeout <= 0 { throw ValidationError("--health-timeout must be a positive number of seconds") }
        if yes && dryRun { throw ValidationError("--dry-run changes nothing, so it needs no --yes; drop one of them") }
        if !yes && !dryRun {
            if output == .json {
                throw ValidationError("--output json cannot ask for confirmation; add --yes (or --dry-run)")
            }
            if isatty(STDIN_FILENO) != 1 {
                throw ValidationError("stdin is not a terminal, so Mailroom cannot ask; add --yes (or --dry-run)")
            }
        }
    }

    func applyOptions(rollbackOnFailure: Bool) -> ApplyOptions {
        var options = ApplyOptions(
            dryRun: dryRun, rollbackOnFailure: rollbackOnFailure,
            healthTimeout: .milliseconds(Int64(healthTimeout * 1000)), force: force)
        // Pulls can take minutes: say what is happening, on a terminal only (stdout may be JSON).
        if isatty(STDERR_FILENO) == 1 { options.pullProgress = printPullProgress }
        return options
    }

    /// Shows the plan and asks; only "yes" goes on. `nil` with --yes or --dry-run.
    func confirmation(title: String) -> Applier.Confirmation? {
        guard !yes && !dryRun else { return nil }
        let color = useColor
        return { plan in
            print(PlanFormatter(color: color).format(plan, title: title))
            print("")
            print("Apply these changes? Only 'yes' is accepted: ", terminator: "")
            fflush(nil)
            return readLine()?.trimmingCharacters(in: .whitespaces) == "yes"
        }
    }

    /// Prints the result and maps it to the exit status: 0 applied or in sync, 1 failed,
    /// refused or cancelled, 2 dry run with changes pending.
    func finish(_ result: ApplyResult) throws {
        if output == .json {
            try printJSON(result)
        } else {
            if result.status == .dryRun, let plan = result.plan {
                print(PlanFormatter(color: useColor).format(plan, title: "Mailroom dry run"))
                print("")
            }
            print(ApplyFormatter(color: useColor).format(result))
        }
        switch result.status {
        case .succeeded, .noChanges: return
        case .dryRun: throw ExitCode(2)
        case .failed, .refused, .declined, .interrupted: throw ExitCode(1)
        }
    }
}

/// One progress line on stderr per image pull that starts or ends.
@Sendable func printPullProgress(_ event: ImagePullProgress) {
    let line =
        switch event {
        case .started(let image): "pulling \(image) ..."
        case .pulled(let image, let ms): "pulled \(image) in \(String(format: "%.1f", Double(ms) / 1000)) s"
        case .failed(let image, let reason): "could not pull \(image): \(reason)"
        }
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Podman: reads over its REST socket when a service answers there (the guide enables
/// podman.socket), else through the CLI; changes always through the CLI. Exit 1 without podman.
func locatePodman() async throws -> any ContainerEngine {
    guard let podman = PodmanCLI.locate() else {
        FileHandle.standardError.write(Data("podman is not installed: apt-get install podman runc catatonit\n".utf8))
        throw ExitCode(1)
    }
    return await PodmanSocket.locate(cli: podman) ?? podman
}

/// Runs an apply or rollback, mapping "cannot start" errors to messages and exit statuses.
func runRollout(_ body: () async throws -> ApplyResult, options: RolloutOptions) async throws {
    let result: ApplyResult
    do {
        result = try await body()
    } catch let error as ApplyError {
        FileHandle.standardError.write(Data("mailroom: \(error)\n".utf8))
        // 75 (EX_TEMPFAIL): another apply holds the lock; try again later.
        throw ExitCode(error.code == .locked ? 75 : 1)
    } catch let error as SpecError {
        throw reportSpecError(error)
    }
    try options.finish(result)
}

/// The CLI prints the result and the journal keeps every step: only errors go to stderr.
let rolloutLogger: Logger = {
    var logger = Logger(label: "mailroom.apply")
    logger.logLevel = .error
    return logger
}()
