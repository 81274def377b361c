import Foundation
import MailroomApply
import MailroomSupport

/// What the agent reports on `/status`; `mailroom status` decodes and prints the same value.
public struct AgentStatus: Sendable, Equatable, Codable {
    public struct Rollout: Sendable, Equatable, Codable {
        public var rollout: String?
        public var commit: String
        public var trigger: String
        public var status: String
        public var error: String?
        public var durationMs: Int?
        public var finished: Date
        /// Where an automatic rollback went, after a failure.
        public var rolledBackTo: String?

        public init(
            rollout: String?, commit: String, trigger: String, status: String, error: String?, durationMs: Int?,
            finished: Date, rolledBackTo: String?
        ) {
            self.rollout = rollout
            self.commit = commit
            self.trigger = trigger
            self.status = status
            self.error = error
            self.durationMs = durationMs
            self.finished = finished
            self.rolledBackTo = rolledBackTo
        }

        /// A rollout as the journal tells it (one this agent did not run, or ran before a restart).
        init(_ journal: RolloutSummary) {
            self.init(
                rollout: journal.id, commit: journal.commit ?? "-", trigger: journal.trigger?.rawValue ?? "-",
                status: journal.status?.rawValue ?? "interrupted", error: journal.error,
                durationMs: journal.durationMs, finished: journal.ended ?? journal.started,
                rolledBackTo: nil)
        }
    }

    public struct Problem: Sendable, Equatable, Codable {
        public var at: Date
        public var message: String
    }

    /// The branch tip the agent last fetched.
    public var currentCommit: String?
    /// The commit the host was last made to match.
    public var appliedCommit: String?
    /// A commit that failed or was refused; not retried until a newer one arrives.
    public var badCommit: String?
    public var sync: String = "syncing"
    public var suspended = false
    public var pinnedCommit: String?
    public var dryRun = false
    /// Whether a reconcile is running now.
    public var reconciling = false
    public var lastRollout: Rollout?
    /// Containers the last drift correction put back (a container removed or stopped by hand),
    /// kept until the next correction or a new commit: reconciles that change nothing keep it.
    public var drift: [String] = []
    public var degraded: [String] = []
    public var lastErrors: [Problem] = []
    public var startedAt: Date = Date()
    public var lastReconcile: Date?
    /// The host checks' last results (``PeriodicChecks``), and when they ran.
    package var checks: [LiveCheckResult] = []
    public var checksRanAt: Date?

    public init() {}

    /// Every field may be missing: an agent of another version may not report it yet (or any
    /// longer), and `mailroom status` still shows the rest.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = AgentStatus()
        currentCommit = try c.decodeIfPresent(String.self, forKey: .currentCommit)
        appliedCommit = try c.decodeIfPresent(String.self, forKey: .appliedCommit)
        badCommit = try c.decodeIfPresent(String.self, forKey: .badCommit)
        sync = try c.decodeIfPresent(String.self, forKey: .sync) ?? defaults.sync
        suspended = try c.decodeIfPresent(Bool.self, forKey: .suspended) ?? defaults.suspended
        pinnedCommit = try c.decodeIfPresent(String.self, forKey: .pinnedCommit)
        dryRun = try c.decodeIfPresent(Bool.self, forKey: .dryRun) ?? defaults.dryRun
        reconciling = try c.decodeIfPresent(Bool.self, forKey: .reconciling) ?? defaults.reconciling
        lastRollout = try c.decodeIfPresent(Rollout.self, forKey: .lastRollout)
        drift = try c.decodeIfPresent([String].self, forKey: .drift) ?? []
        degraded = try c.decodeIfPresent([String].self, forKey: .degraded) ?? []
        lastErrors = try c.decodeIfPresent([Problem].self, forKey: .lastErrors) ?? []
        startedAt = try c.decodeIfPresent(Date.self, forKey: .startedAt) ?? defaults.startedAt
        lastReconcile = try c.decodeIfPresent(Date.self, forKey: .lastReconcile)
        checks = try c.decodeIfPresent([LiveCheckResult].self, forKey: .checks) ?? []
        checksRanAt = try c.decodeIfPresent(Date.self, forKey: .checksRanAt)
    }

    public static func decode(_ data: Data) throws -> AgentStatus {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .internetTime
        return try decoder.decode(AgentStatus.self, from: data)
    }

    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .internetTime
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }

    /// For people: `mailroom status`.
    public var text: String {
        var lines: [String] = []
        func short(_ c: String?) -> String { c.map { String($0.prefix(12)) } ?? "-" }
        lines.append("sync:       \(sync)\(dryRun ? " (dry run: plans only)" : "")")
        lines.append("branch tip: \(short(currentCommit))")
        lines.append("applied:    \(short(appliedCommit))")
        if let badCommit {
            lines.append("refused:    \(short(badCommit)) (failed or invalid; waiting for a newer commit)")
        }
        if reconciling { lines.append("now:        reconciling") }
        if let r = lastRollout {
            var line = "last:       \(r.status) \(short(r.commit)) by \(r.trigger)"
            if let ms = r.durationMs { line += " in \(ms) ms" }
            if let id = r.rollout { line += " (rollout \(id))" }
            if let to = r.rolledBackTo { line += ", rolled back to \(to)" }
            lines.append(line)
            if let error = r.error { lines.append("            \(error)") }
        }
        lines.append("drift:      " + (drift.isEmpty ? "none" : drift.joined(separator: ", ")))
        lines.append("degraded:   " + (degraded.isEmpty ? "none" : degraded.joined(separator: ", ")))
        if let ran = checksRanAt {
            let failing = checks.filter { !$0.verdict.passes }
            lines.append(
                "checks:     \(checks.count - failing.count) of \(checks.count) pass (\(ISO8601DateFormatter().string(from: ran)))"
            )
            for check in failing {
                lines.append("  \(check.verdict.rawValue) \(check.name): \(check.detail)")
                if let fix = check.fix { lines.append("    fix: \(fix)") }
            }
        }
        if !lastErrors.isEmpty {
            lines.append("errors:")
            let formatter = ISO8601DateFormatter()
            for problem in lastErrors.suffix(5) {
                lines.append("  \(formatter.string(from: problem.at)) \(problem.message)")
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// The agent's counters, rendered in Prometheus' text format on `/metrics`.
public struct AgentMetrics: Sendable, Equatable, Codable {
    /// Rollouts by result (`succeeded`, `failed`, `refused`, `interrupted`, `dry-run`, `auto-rollback-*`).
    public var rollouts: [String: Int] = [:]
    /// Reconciles by trigger (`git`, `files`, `podman`, `resync`, `webhook`, ...).
    public var reconciles: [String: Int] = [:]
    public var driftCorrections = 0
    public var lastSuccessfulApply: Date?
    /// Upper bounds of the rollout duration histogram, in seconds.
    public static let buckets: [Double] = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]
    public var durationCounts: [Int] = Array(repeating: 0, count: AgentMetrics.buckets.count)
    public var durationSum = 0.0
    public var durationCount = 0
    /// The host checks' last results, one gauge each, and when they ran.
    package var checks: [LiveCheckResult] = []
    public var checksRanAt: Date?

    public init() {}

    public mutating func observeDuration(seconds: Double) {
        for (i, bound) in Self.buckets.enumerated() where seconds <= bound { durationCounts[i] += 1 }
        durationSum += seconds
        durationCount += 1
    }

    public var prometheusText: String {
        var out = ""
        out += "# HELP mailroom_rollouts_total Rollouts by result.\n# TYPE mailroom_rollouts_total counter\n"
        for (result, n) in rollouts.sorted(by: { $0.key < $1.key }) {
            out += "mailroom_rollouts_total{result=\"\(result)\"} \(n)\n"
        }
        out += "# HELP mailroom_rollout_duration_seconds Duration of rollouts that changed the host.\n"
        out += "# TYPE mailroom_rollout_duration_seconds histogram\n"
        for (i, bound) in Self.buckets.enumerated() {
            out += "mailroom_rollout_duration_seconds_bucket{le=\"\(Self.format(bound))\"} \(durationCounts[i])\n"
        }
        out += "mailroom_rollout_duration_seconds_bucket{le=\"+Inf\"} \(durationCount)\n"
        out += "mailroom_rollout_duration_seconds_sum \(Self.format(durationSum))\n"
        out += "mailroom_rollout_duration_seconds_count \(durationCount)\n"
        out += "# HELP mailroom_reconciles_total Reconciles by trigger.\n# TYPE mailroom_reconciles_total counter\n"
        for (trigger, n) in reconciles.sorted(by: { $0.key < $1.key }) {
            out += "mailroom_reconciles_total{trigger=\"\(trigger)\"} \(n)\n"
        }
        out +=
            "# HELP mailroom_drift_corrections_total Reconciles that put back containers or files changed outside Mailroom.\n"
        out += "# TYPE mailroom_drift_corrections_total counter\nmailroom_drift_corrections_total \(driftCorrections)\n"
        out += "# HELP mailroom_last_successful_apply_timestamp_seconds Unix time of the last successful rollout.\n"
        out += "# TYPE mailroom_last_successful_apply_timestamp_seconds gauge\n"
        out +=
            "mailroom_last_successful_apply_timestamp_seconds \(Self.format(lastSuccessfulApply?.timeIntervalSince1970 ?? 0))\n"
        if let ran = checksRanAt {
            out += "# HELP mailroom_check_ok Host checks: 1 passes, 0 fails, -1 unknown or skipped.\n"
            out += "# TYPE mailroom_check_ok gauge\n"
            for check in checks {
                out +=
                    "mailroom_check_ok{group=\"\(Self.label(check.group))\",name=\"\(Self.label(check.name))\"} \(check.verdict.gauge)\n"
            }
            out += "# HELP mailroom_checks_last_run_timestamp_seconds Unix time the host checks last ran.\n"
            out += "# TYPE mailroom_checks_last_run_timestamp_seconds gauge\n"
            out +=
                "mailroom_checks_last_run_timestamp_seconds \(Self.format(ran.timeIntervalSince1970.rounded(.down)))\n"
        }
        return out
    }

    /// A label value in Prometheus' text format: backslash, quote and newline escaped.
    static func label(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
