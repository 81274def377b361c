/// When to poll a remote: a fixed interval with jitter, backing off exponentially after failures.
public struct PollSchedule: Sendable, Equatable {
    /// The shortest interval accepted, to spare the remote.
    public static let minimumInterval: Duration = .seconds(5)
    /// The interval when none is given.
    public static let defaultInterval: Duration = .seconds(60)

    /// The time between polls while they succeed.
    public let interval: Duration
    /// How much each delay varies, as a fraction of it (0.1 = ±10 %), so many agents don't poll in step.
    public let jitter: Double
    /// The longest delay after repeated failures.
    public let maxBackoff: Duration

    /// - Parameters:
    ///   - interval: at least ``minimumInterval`` (default 60 s).
    ///   - jitter: from 0 to 0.5 (default 0.1).
    ///   - maxBackoff: at least `interval` (default 15 minutes).
    public init(
        interval: Duration = PollSchedule.defaultInterval, jitter: Double = 0.1,
        maxBackoff: Duration = .seconds(15 * 60)
    ) throws {
        guard interval >= Self.minimumInterval else {
            throw GitError(
                .invalidConfiguration,
                "the poll interval \(interval) is shorter than the minimum of \(Self.minimumInterval)",
                hint: "poll every 5 seconds or less often; local repositories are watched without polling")
        }
        guard (0...0.5).contains(jitter) else {
            throw GitError(
                .invalidConfiguration, "the poll jitter \(jitter) is outside 0...0.5",
                hint: "use a fraction such as 0.1")
        }
        guard maxBackoff >= interval else {
            throw GitError(
                .invalidConfiguration,
                "the maximum backoff \(maxBackoff) is shorter than the poll interval \(interval)",
                hint: "make it at least the interval")
        }
        self.init(uncheckedInterval: interval, jitter: jitter, maxBackoff: maxBackoff)
    }

    /// Skips validation; for tests that cannot wait five seconds.
    init(uncheckedInterval interval: Duration, jitter: Double = 0, maxBackoff: Duration? = nil) {
        self.interval = interval
        self.jitter = jitter
        self.maxBackoff = maxBackoff ?? interval * 15
    }

    /// The default schedule: every 60 s ± 10 %, backing off up to 15 minutes.
    public static let standard = PollSchedule(
        uncheckedInterval: defaultInterval, jitter: 0.1, maxBackoff: .seconds(15 * 60))

    /// The delay before the next poll after `failures` failures in a row.
    ///
    /// - Parameter random: a number in `0..<1` that picks the jitter; random by default.
    public func delay(afterFailures failures: Int, random: Double = Double.random(in: 0..<1)) -> Duration {
        let base = interval.seconds * Double(1 << min(max(failures, 0), 20))
        let capped = min(base, max(maxBackoff.seconds, interval.seconds))
        let factor = 1 + jitter * (2 * min(max(random, 0), 1) - 1)
        return .milliseconds(Int64((capped * factor * 1000).rounded()))
    }
}
