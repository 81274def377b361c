import Foundation
import MailroomSupport

/// Suspend, resume and pin: written by `mailroom suspend`/`resume`/`rollback`, read by the
/// agent before each reconcile. Lives in `<state-dir>/agent-control.json`, written atomically.
public struct AgentControl: Sendable, Equatable, Codable {
    /// No sync at all until resumed.
    public var suspended = false
    /// A pinned good commit: the agent keeps the host at it and ignores the branch tip
    /// until resumed or until the branch moves past `branchTipAtPin`.
    public var pinnedCommit: String?
    /// The branch tip when the pin was made; a different tip ends the pin.
    public var branchTipAtPin: String?
    public var reason: String?
    public var since: Date?

    public init(
        suspended: Bool = false, pinnedCommit: String? = nil, branchTipAtPin: String? = nil, reason: String? = nil,
        since: Date? = nil
    ) {
        self.suspended = suspended
        self.pinnedCommit = pinnedCommit
        self.branchTipAtPin = branchTipAtPin
        self.reason = reason
        self.since = since
    }

    public static func path(in stateDirectory: String) -> String { StateDirectory(stateDirectory).agentControl }

    /// The saved state; the default (syncing) when there is none.
    public static func load(stateDirectory: String) -> AgentControl {
        guard let data = FileManager.default.contents(atPath: path(in: stateDirectory)) else { return AgentControl() }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .internetTime
        return (try? decoder.decode(AgentControl.self, from: data)) ?? AgentControl()
    }

    public func save(stateDirectory: String) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .internetTime
        encoder.outputFormatting = [.sortedKeys]
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        try AtomicFile.write(try encoder.encode(self), to: Self.path(in: stateDirectory), mode: 0o644)
    }

    /// What `status` says about sync.
    public var summary: String {
        if let pinnedCommit {
            return "pinned at \(pinnedCommit.prefix(12)): sync suspended until `mailroom resume` or a new commit"
        }
        return suspended ? "suspended: run `mailroom resume` to sync again" : "syncing"
    }
}
