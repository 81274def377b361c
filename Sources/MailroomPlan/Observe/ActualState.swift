import MailroomHost

/// What the host looks like now: the network, every container, the files Mailroom manages,
/// the content of the directories containers read at start, and what was last applied.
public struct ActualState: Sendable {
    /// `nil` when podman is not installed: the plan is made against an empty host.
    public var engine: String?
    public var network: NetworkSummary?
    /// Every container on the host, by name.
    public var containers: [String: ObservedContainer]
    /// Desired, generated and previously generated files, by path.
    public var files: [String: ObservedFile]
    /// Digest of each content input (read-only mounts, external env files), by path.
    public var contentDigests: [String: String]
    public var missingDirectories: [String]
    public var applied: AppliedState
    /// Whether systemd runs as PID 1 (units are installed and own the containers).
    public var systemd: Bool
    /// The application's objects, when the spec declares any.
    public var objects: ObservedObjects?
    /// Key files the spec wants that do not exist yet.
    public var missingKeys: [String] = []

    public init(
        engine: String?, network: NetworkSummary?, containers: [String: ObservedContainer],
        files: [String: ObservedFile],
        contentDigests: [String: String], missingDirectories: [String], applied: AppliedState, systemd: Bool
    ) {
        self.engine = engine
        self.network = network
        self.containers = containers
        self.files = files
        self.contentDigests = contentDigests
        self.missingDirectories = missingDirectories
        self.applied = applied
        self.systemd = systemd
    }
}

public struct ObservedContainer: Sendable, Equatable {
    public var summary: ContainerSummary
    /// Present for containers Mailroom cannot diff from its own record (made by hand, or changed by hand).
    public var inspection: ContainerInspection?
    /// Labelled `mailroom.managed=true`, or adopted (its id is in the applied record).
    public var managed: Bool
    /// The config hash it was applied with: its label, or the adoption record's.
    public var configHash: String?

    public var name: String { summary.name }
    public var isRunning: Bool { summary.state == "running" }
    /// Made but never started: podman's states before the first start.
    public var neverStarted: Bool { ["created", "configured", "initialized"].contains(summary.state) }
}

public struct ObservedFile: Sendable, Equatable {
    public var content: String?
    public var mode: Int?

    public var exists: Bool { content != nil }
}
