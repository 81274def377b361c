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
    @Option(
        help: "Seconds a started container without a health check must stay running before its wave counts as done."
    ) var settleTime: Double = 3
    @Flag(help: "Allow lowering the Mailu version of a running deployment (Mailu upgrades cannot be undone).")
    var force = false
    @Option(help: "Output format: text or json.") var output: OutputFormat = .text

    func validate() throws {
        if healthTimeout <= 0 { throw ValidationError("--health-timeout must be a positive number of seconds") }
        if settleTime < 0 { throw ValidationError("--settle-time must be 0 or more seconds") }
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
        options.settleTime = .milliseconds(Int64(settleTime * 1000))
        // Pulls can take minutes: say what is happening, on a terminal only (stdout may be JSON).
        if isatty(STDERR_FILENO) == 1 { options.pullProgress = printPullProgress }
        let signals = StopSignals.installed
        options.interruption = { signals.interruption }
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
            return StopSignals.installed.atPrompt { readLine()?.trimmingCharacters(in: .whitespaces) == "yes" }
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
        case .interrupted: throw ExitCode(StopSignals.installed.received.map { 128 + $0 } ?? 1)
        case .failed, .refused, .declined: throw ExitCode(1)
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

/// SIGINT (Ctrl-C) and SIGTERM during `apply` or `rollback` stop the rollout as the agent's
/// SIGTERM does: the step in flight finishes, nothing new starts, the journal ends the rollout
/// `interrupted`, and the exit status is 128 + the signal; the next run re-plans and completes
/// it. A second signal ends the process at once, as a kill would (the next run completes the
/// rollout too). At the confirmation prompt nothing has changed yet, so one signal ends it there.
final class StopSignals: Sendable {
    static let installed = StopSignals()

    private let first = LockedValue<Int32?>(nil)
    private let prompting = LockedValue(false)
    // Kept for the life of the process: a signal source stops delivering when released.
    private nonisolated(unsafe) let sources: [any DispatchSourceSignal]

    private init() {
        let first = first
        let prompting = prompting
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let again = first.withLock { seen in
                    defer { seen = seen ?? number }
                    return seen != nil
                }
                if again || prompting.current { _exit(128 + number) }
                FileHandle.standardError.write(
                    Data("\nmailroom: stopping after the current step (send the signal again to stop at once)\n".utf8))
            }
            source.resume()
            return source
        }
    }

    /// The first signal received, if any.
    var received: Int32? { first.current }

    var interruption: RolloutInterruption? { first.current == nil ? nil : .shutdown }

    /// Runs `body` (a blocking read of the answer) with signals ending the process at once.
    func atPrompt<T>(_ body: () -> T) -> T {
        prompting.withLock { $0 = true }
        defer { prompting.withLock { $0 = false } }
        return body()
    }
}
