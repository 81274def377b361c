import Crypto
import Foundation
import MailroomPlan
import MailroomSupport

/// How `apply` behaves. The defaults are the agent's.
public struct ApplyOptions: Sendable {
    /// Plan and walk every step without changing anything (no podman mutation, no file, no journal).
    public var dryRun = false
    /// After a failed rollout, re-apply the last successful rollout's spec (recorded as its own rollout).
    public var rollbackOnFailure = true
    /// How long each started container may take to be running and, with a health check, healthy.
    public var healthTimeout: Duration = .seconds(300)
    /// How long a started container without a health check must stay running before its wave
    /// counts as done (Kubernetes' `minReadySeconds`): a crash a few seconds after the start
    /// fails the rollout instead of passing it.
    public var settleTime: Duration = .seconds(3)
    /// Containers of one wave started at once.
    public var concurrency = 4
    /// Allow lowering the Mailu version of a running deployment (Mailu upgrades cannot be undone).
    public var force = false
    /// The journal starts a new file past this size.
    public var journalMaxBytes = 4 << 20
    /// Containers not to create, recreate or start (the agent's degraded containers).
    public var leaveAlone: Set<String> = []
    /// Asked before each step and between health checks (the agent's). An answer stops the
    /// rollout there: steps in flight finish, waits end, nothing new starts, the journal ends it
    /// as `interrupted`, and there is no automatic rollback. Task cancellation counts as `.shutdown`.
    public var interruption: (@Sendable () -> RolloutInterruption?)?
    /// Told as each missing image's pull starts and ends (the CLI prints progress lines on a terminal).
    public var pullProgress: (@Sendable (ImagePullProgress) -> Void)?

    /// Why to stop now, if at all: the agent's answer, or `.shutdown` when the task is cancelled.
    func currentInterruption() -> RolloutInterruption? {
        interruption?() ?? (Task.isCancelled ? .shutdown : nil)
    }

    public init(
        dryRun: Bool = false, rollbackOnFailure: Bool = true, healthTimeout: Duration = .seconds(300),
        concurrency: Int = 4,
        force: Bool = false
    ) {
        self.dryRun = dryRun
        self.rollbackOnFailure = rollbackOnFailure
        self.healthTimeout = healthTimeout
        self.concurrency = max(1, concurrency)
        self.force = force
    }
}

/// Why a rollout stopped before its end without failing.
public enum RolloutInterruption: String, Sendable {
    /// A newer commit arrived; its own rollout re-plans from where this one stopped.
    case superseded
    /// Mailroom is stopping (the agent on SIGTERM, `apply` on SIGINT or SIGTERM); its next run
    /// re-plans and completes the rollout.
    case shutdown

    /// For the journal and the result's error.
    public var explanation: String {
        switch self {
        case .superseded: "a newer commit supersedes this rollout; its rollout continues from here"
        case .shutdown:
            "Mailroom was asked to stop (SIGTERM or SIGINT); its next run re-plans and completes this rollout"
        }
    }
}

/// What `apply` (or `rollback`) did. The CLI prints it as text or JSON; the agent keeps it.
public struct ApplyResult: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable {
        case succeeded
        /// The host already matched: nothing ran, nothing was recorded.
        case noChanges = "no-changes"
        case failed
        /// Nothing was changed: invalid spec, missing secrets, a conflict, a version downgrade.
        case refused
        case dryRun = "dry-run"
        /// The user answered no.
        case declined
        /// Stopped after a step, on purpose (``RolloutInterruption``); the host is consistent
        /// but not yet at the spec.
        case interrupted
    }

    public var status: Status
    /// `nil` when nothing was recorded (no changes, dry run, declined).
    public var rollout: String?
    public var commit: String
    public var trigger: Trigger
    public var runner: Plan.Runner?
    public var plan: Plan?
    public var steps: [StepRecord] = []
    public var error: String?
    /// For an invalid spec: every problem, with file:line:column and field.
    public var diagnostics: [SpecDiagnostic] = []
    /// Plan warnings and journal problems (a torn last line).
    public var warnings: [String] = []
    /// The interrupted rollout this one completed.
    public var resumed: String?
    /// For a rollback: the rollout whose desired state was re-applied.
    public var rollbackTo: String?
    public var durationMs: Int = 0
    /// After a failure with rollback on: what the automatic rollback did.
    public var autoRollback: RollbackOutcome?

    public init(status: Status, commit: String, trigger: Trigger) {
        self.status = status
        self.commit = commit
        self.trigger = trigger
    }

    /// Applied, in sync already, or only planned: nothing went wrong.
    public var isSuccess: Bool { [.succeeded, .noChanges, .dryRun].contains(status) }
}

/// The automatic rollback after a failed rollout, in brief.
public struct RollbackOutcome: Sendable, Equatable, Codable {
    /// Its own rollout id (absent when it could not start or found nothing to do).
    public var rollout: String?
    /// The rollout whose state it re-applied.
    public var to: String?
    public var status: ApplyResult.Status?
    public var steps: [StepRecord] = []
    public var error: String?
    public var durationMs: Int = 0

    public init(rollout: String? = nil, to: String? = nil, status: ApplyResult.Status? = nil, error: String? = nil) {
        self.rollout = rollout
        self.to = to
        self.status = status
        self.error = error
    }

    init(_ result: ApplyResult) {
        self.init(rollout: result.rollout, to: result.rollbackTo, status: result.status, error: result.error)
        steps = result.steps
        durationMs = result.durationMs
    }
}

/// Rollout ids: UTC time to the second and 4 random hex digits, so they sort by time.
enum RolloutID {
    static func make(_ date: Date = Date()) -> String {
        // The digits of 2026-05-01T12:00:00Z; a Foundation Calendar would load ICU's time zones.
        let digits = InternetTime.string(from: date).filter { $0.isASCII && $0.isNumber }
        let random = String(UInt16.random(in: 0...UInt16.max), radix: 16)
        return "\(digits.prefix(8))-\(digits.dropFirst(8))-" + String(repeating: "0", count: 4 - random.count) + random
    }
}
