import Foundation

/// How often the agent may put one container back: `restarts` within `window`. Past it the
/// container is degraded and left alone until the next commit.
public struct SelfHealBudget: Sendable, Equatable {
    public var restarts: Int
    public var window: Duration
    private var history: [String: [ContinuousClock.Instant]] = [:]
    public private(set) var degraded: Set<String> = []

    public init(restarts: Int = 5, window: Duration = .seconds(300)) {
        self.restarts = restarts
        self.window = window
    }

    /// Records a restart of `name` at `now`; false (and `name` degraded) when it was over budget.
    public mutating func spend(_ name: String, at now: ContinuousClock.Instant = .now) -> Bool {
        guard !degraded.contains(name) else { return false }
        var times = recent(name, at: now)
        guard times.count < restarts else {
            degraded.insert(name)
            history[name] = times
            return false
        }
        times.append(now)
        history[name] = times
        return true
    }

    /// Whether `name` may be put back once more; when not, it becomes degraded.
    public mutating func allows(_ name: String, at now: ContinuousClock.Instant = .now) -> Bool {
        guard !degraded.contains(name) else { return false }
        guard recent(name, at: now).count < restarts else {
            degraded.insert(name)
            return false
        }
        return true
    }

    /// How long to wait after the last restart of `name` before the next: 0 after one restart
    /// in the window, then 1 s, 2 s, 4 s ... (cap 30 s).
    public func backoff(for name: String, at now: ContinuousClock.Instant = .now) -> Duration {
        Self.backoff(restarts: recent(name, at: now).count)
    }

    static func backoff(restarts recent: Int) -> Duration {
        guard recent > 1 else { return .zero }
        return .seconds(min(30, 1 << min(recent - 2, 5)))
    }

    /// Containers that must not be put back before an instant (their last restart plus
    /// their backoff), with that instant.
    public func held(at now: ContinuousClock.Instant = .now) -> [String: ContinuousClock.Instant] {
        history.keys.reduce(into: [:]) { held, name in
            let times = recent(name, at: now)
            guard let last = times.last else { return }
            let until = last + Self.backoff(restarts: times.count)
            if until > now { held[name] = until }
        }
    }

    /// The restarts of `name` still inside the window.
    private func recent(_ name: String, at now: ContinuousClock.Instant) -> [ContinuousClock.Instant] {
        (history[name] ?? []).filter { now - $0 < window }
    }

    /// Containers whose budget is spent (`restarts` in the window), degraded or not yet: the
    /// agent leaves them alone, and marks them degraded once a plan needed to put one back.
    public func spent(at now: ContinuousClock.Instant = .now) -> Set<String> {
        Set(history.keys.filter { recent($0, at: now).count >= restarts }).union(degraded)
    }

    /// `name` needed a put-back past its budget.
    public mutating func markDegraded(_ name: String) {
        degraded.insert(name)
    }

    /// A change arrived: degraded containers get a fresh budget.
    public mutating func reset() {
        degraded = []
        history = [:]
    }
}
