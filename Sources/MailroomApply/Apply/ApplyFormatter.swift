import Foundation
import MailroomPlan

extension PlanFormatter {
    /// The plan's changes, one line each, for the journal and `history`.
    public static func changeLines(_ plan: Plan) -> [String] {
        var lines: [String] = []
        if plan.network.action == .create { lines.append("+ network \(plan.network.name)") }
        for directory in plan.directories { lines.append("+ directory \(directory)") }
        for change in plan.files where change.action != .inSync {
            let sign = change.action == .create ? "+" : change.action == .delete ? "-" : "~"
            lines.append("\(sign) \(change.kind.rawValue) \(change.path)")
        }
        for change in plan.containers where change.action != .inSync {
            let sign =
                switch change.action {
                case .create: "+"
                case .remove: "-"
                case .start: ">"
                case .adopt: "="
                default: "~"
                }
            let reasons = change.reasons.isEmpty ? "" : ": " + change.reasons.joined(separator: "; ")
            lines.append("\(sign) container \(change.name) \(change.action.rawValue)\(reasons)")
        }
        return lines
    }

    /// `2 created, 1 recreated, 1 removed, 3 files`: a plan summary in a few words.
    public static func oneLine(_ s: Plan.Summary) -> String {
        var parts: [String] = []
        if s.network > 0 { parts.append("network") }
        for (count, word) in [
            (s.create, "created"), (s.recreate, "recreated"), (s.start, "started"), (s.adopt, "adopted"),
            (s.remove, "removed"),
        ]
        where count > 0 {
            parts.append("\(count) \(word)")
        }
        if s.filesToWrite + s.filesToDelete > 0 {
            parts.append("\(s.filesToWrite + s.filesToDelete) file\(s.filesToWrite + s.filesToDelete == 1 ? "" : "s")")
        }
        if s.directories > 0 { parts.append("\(s.directories) dir\(s.directories == 1 ? "" : "s")") }
        return parts.isEmpty ? "no changes" : parts.joined(separator: ", ")
    }
}

extension RolloutSummary {
    /// What the rollout did, from its steps that succeeded: `2 pulled, network, 3 created, 4 files`;
    /// `nothing` when none did.
    public var doneLine: String {
        var counts: [String: Int] = [:]
        var order: [String] = []
        for step in steps where step.result == .ok {
            let word: String? =
                switch step.action {
                case .imagePull: "pulled"
                case .networkCreate: "network"
                case .directoryCreate: "dirs"
                case .fileWrite, .fileDelete, .unitWrite, .unitDelete: "files"
                case .containerCreate: "created"
                case .containerRecreate: "recreated"
                case .containerStart, .systemdStart: "started"
                case .containerAdopt: "adopted"
                case .containerRemove: "removed"
                default: nil
                }
            guard let word else { continue }
            if counts[word] == nil { order.append(word) }
            counts[word, default: 0] += 1
        }
        let parts = order.map { word -> String in
            let n = counts[word] ?? 0
            switch word {
            case "network": return word
            case "files": return PlanFormatter.count(n, "file", "files")
            case "dirs": return PlanFormatter.count(n, "dir", "dirs")
            default: return "\(n) \(word)"
            }
        }
        return parts.isEmpty ? "nothing" : parts.joined(separator: ", ")
    }

    /// The CHANGES column of `history`: what was done; for a rollout that did not succeed, what
    /// was done and what was planned, each labelled, since the two differ.
    public func changesLine(runningNow: Bool) -> String {
        let planned = summary.map { PlanFormatter.oneLine($0) }
        switch status {
        case .succeeded: return doneLine == "nothing" ? "no changes" : doneLine
        case .refused: return planned.map { "planned: \($0)" } ?? "-"
        default:
            let prefix = status == nil && runningNow ? "done so far" : "done"
            return "\(prefix): \(doneLine)" + (planned.map { "; planned: \($0)" } ?? "")
        }
    }
}

/// Prints apply results, history and rollouts for people.
public struct ApplyFormatter: Sendable {
    public var color: Bool

    public init(color: Bool) { self.color = color }

    func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

    public func format(_ result: ApplyResult) -> String {
        var out: [String] = []
        for warning in result.warnings { out.append(paint("warning: ", "33") + warning) }
        if let resumed = result.resumed {
            out.append(
                "Rollout \(resumed) was interrupted (Mailroom stopped mid-rollout); "
                    + (result.status == .noChanges ? "nothing was left to do." : "this run completes it."))
        }
        if !result.steps.isEmpty { out.append(contentsOf: steps(result.steps)) }
        out.append(headline(result))
        if let rollback = result.autoRollback {
            out.append("")
            if let to = rollback.to, let status = rollback.status {
                out.append("Rolling back to rollout \(to):")
                out.append(contentsOf: steps(rollback.steps))
                let id = rollback.rollout.map { "rollout \($0) " } ?? ""
                out.append(
                    "Rollback \(id)\(status.rawValue)" + (rollback.error.map { ": \($0)" } ?? "")
                        + " in \(duration(rollback.durationMs)).")
            } else {
                out.append("No rollback: \(rollback.error ?? "nothing to return to").")
            }
        }
        return out.joined(separator: "\n")
    }

    func headline(_ r: ApplyResult) -> String {
        let id = r.rollout.map { "Rollout \($0)" } ?? "Apply"
        let what = r.plan.map { PlanFormatter.oneLine($0.summary) } ?? ""
        switch r.status {
        case .succeeded:
            return paint("\(id) succeeded", "32") + " in \(duration(r.durationMs)) (\(what)); commit \(r.commit)."
        case .noChanges:
            return "No changes: the host matches the spec (commit \(r.commit))."
        case .failed:
            return paint("\(id) failed", "31") + " after \(duration(r.durationMs)): \(r.error ?? "unknown error")"
        case .refused:
            let nothing = (r.error ?? "").hasSuffix("nothing was changed") ? ":" : "; nothing was changed:"
            return paint("\(id) refused", "31") + "\(nothing)\n  "
                + (r.error ?? "").replacingOccurrences(of: "\n", with: "\n  ")
        case .dryRun:
            return "Dry run: \(r.steps.count) steps would run (\(what)); nothing was changed."
        case .declined:
            return "Apply cancelled; nothing was changed."
        case .interrupted:
            return paint("\(id) interrupted", "33") + " after \(duration(r.durationMs)): \(r.error ?? "stopped")"
        }
    }

    func steps(_ steps: [StepRecord]) -> [String] {
        steps.map { s in
            let mark =
                switch s.result {
                case .ok: paint("ok  ", "32")
                case .failed: paint("FAIL", "31")
                case .planned: "plan"
                case .cancelled: paint("stop", "33")
                }
            var line = "  \(mark) \(s.action.rawValue) \(s.target)"
            if s.result == .planned, let command = s.command { line += "  " + command.joined(separator: " ") }
            if s.result != .planned { line += paint("  \(s.durationMs) ms", "2") }
            if let detail = s.detail, s.result != .ok || !detail.isEmpty { line += "  " + detail }
            if s.result == .failed, let stderr = s.stderr, !stderr.isEmpty { line += "\n       stderr: " + stderr }
            return line
        }
    }

    /// `mailroom history`: one rollout a line, newest last.
    public func history(_ rollouts: [RolloutSummary], runningNow: String?) -> String {
        var rows = [["ROLLOUT", "TIME (UTC)", "COMMIT", "TRIGGER", "RESULT", "DURATION", "CHANGES"]]
        for r in rollouts {
            var result = r.result(runningNow: r.id == runningNow)
            if let resumes = r.resumes { result += " (completes \(resumes))" }
            if let to = r.rollbackTo { result += " (to \(to))" }
            rows.append([
                r.id, Self.time(r.started), String((r.commit ?? "-").prefix(19)), r.trigger?.rawValue ?? "-", result,
                r.durationMs.map(duration) ?? "-", r.changesLine(runningNow: r.id == runningNow),
            ])
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }
            .joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// `mailroom show`: a rollout and its steps.
    public func show(_ r: RolloutSummary, runningNow: Bool) -> String {
        var out = [
            "rollout   \(r.id)", "started   \(Self.time(r.started)) UTC", "commit    \(r.commit ?? "-")",
            "trigger   \(r.trigger?.rawValue ?? "-")", "result    \(r.result(runningNow: runningNow))",
        ]
        if let runner = r.runner { out.append("runner    \(runner)") }
        if let d = r.durationMs { out.append("duration  \(duration(d))") }
        if let resumes = r.resumes { out.append("completes \(resumes) (interrupted)") }
        if let to = r.rollbackTo { out.append("rollback  to \(to)") }
        if let version = r.applicationVersion { out.append("version   \(version)") }
        if let error = r.error { out.append("error     \(error)") }
        if !r.changes.isEmpty {
            out.append("")
            out.append("changes:")
            out.append(contentsOf: r.changes.map { "  " + $0 })
        }
        out.append("")
        out.append("steps:")
        out.append(contentsOf: r.steps.isEmpty ? ["  (none)"] : steps(r.steps).map { $0 })
        if r.status == nil && !runningNow { out.append("  … interrupted here (no end record)") }
        return out.joined(separator: "\n")
    }

    static func time(_ date: Date) -> String {
        String(JournalCoding.formatTime(date).prefix(19)).replacingOccurrences(of: "T", with: " ")
    }

    func duration(_ ms: Int) -> String {
        ms < 1000 ? "\(ms) ms" : formatSeconds(Double(ms) / 1000)
    }
}
