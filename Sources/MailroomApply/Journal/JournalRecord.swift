import Foundation
import MailroomPlan
import MailroomSupport

/// One line of the journal. A rollout writes a `start`, a `step` per action it took and an
/// `end`; a rollout without an `end` was interrupted (a crash, a kill, a power cut).
public struct JournalRecord: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case start, step, end }

    public var type: Kind
    public var rollout: String
    public var time: Date

    // start
    public var commit: String?
    public var trigger: Trigger?
    /// How containers are run: `direct` or `systemd`.
    public var runner: String?
    public var summary: Plan.Summary?
    /// One line per change, as the plan printed it (`~ container mailu-front: mailu.env changed`).
    public var changes: [String]?
    /// The rollout this one completes, when the previous one was interrupted.
    public var resumes: String?
    /// The rollout whose desired state this one re-applies (`rollback`, `auto-rollback`).
    public var rollbackTo: String?
    public var applicationVersion: String?

    // step
    public var step: StepRecord?

    // end
    public var status: RolloutStatus?
    public var error: String?
    public var durationMs: Int?

    public init(type: Kind, rollout: String, time: Date = Date()) {
        self.type = type
        self.rollout = rollout
        self.time = time
    }
}

/// Why a rollout ran: `cli`, `agent`, `rollback` (asked for), `auto-rollback` (after a failure).
public struct Trigger: RawRepresentable, Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let cli = Trigger(rawValue: "cli")
    public static let agent = Trigger(rawValue: "agent")
    public static let rollback = Trigger(rawValue: "rollback")
    public static let autoRollback = Trigger(rawValue: "auto-rollback")

    public var description: String { rawValue }
}

/// How a rollout ended.
public enum RolloutStatus: String, Sendable, Equatable, Codable {
    case succeeded
    case failed
    /// Nothing was changed: the spec was invalid, secrets were missing, the plan had a conflict.
    case refused
    /// Stopped mid-rollout: the process died (recorded by the next run, which completed it by
    /// re-planning), or the agent stopped it after a step (SIGTERM, a newer commit).
    case interrupted
}

/// One action of a rollout: what, when, how long, and how it went.
public struct StepRecord: Sendable, Equatable, Codable {
    public enum Result: String, Sendable, Codable {
        case ok, failed
        /// Dry run: what would have run.
        case planned
        /// A wait ended early because the rollout was interrupted (not a failure).
        case cancelled
    }

    /// Written as its raw value: `container.create`, `container.wait`, `systemd.daemon-reload`, ….
    public var action: StepAction
    public var target: String
    /// The command it ran, when it ran one (argv).
    public var command: [String]?
    public var started: Date
    public var ended: Date
    public var durationMs: Int
    public var result: Result
    /// Why, or what was seen: "running", "healthy after 2 checks", "exited with status 3".
    public var detail: String?
    /// The command's stderr, on failure.
    public var stderr: String?

    public init(
        action: StepAction, target: String, command: [String]?, started: Date, ended: Date, result: Result,
        detail: String? = nil, stderr: String? = nil
    ) {
        self.action = action
        self.target = target
        self.command = command
        self.started = started
        self.ended = ended
        self.durationMs = max(0, Int((ended.timeIntervalSince(started) * 1000).rounded()))
        self.result = result
        self.detail = detail
        self.stderr = stderr
    }
}

/// JSON for the journal and state files: ISO 8601 times with milliseconds, sorted keys.
enum JournalCoding {
    static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(formatTime(date))
        }
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let text = try c.decode(String.self)
            guard let date = parseTime(text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an ISO 8601 time: \(text)")
            }
            return date
        }
        return decoder
    }

    static func formatTime(_ date: Date) -> String {
        InternetTime.string(from: date, milliseconds: true)
    }

    /// With or without milliseconds.
    static func parseTime(_ text: String) -> Date? {
        InternetTime.date(from: text)
    }
}
