import MailroomHost

/// What a rollout step did. One type, so the code that writes steps and the code that reads
/// them (the reconciler's self-heal, the formatter) cannot drift apart on a spelling. The raw
/// values are the journal's and the CLI's words, so they must never change.
public enum StepAction: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case networkCreate = "network.create"
    case directoryCreate = "directory.create"
    case fileWrite = "file.write"
    case fileDelete = "file.delete"
    case unitWrite = "unit.write"
    case unitDelete = "unit.delete"
    case systemdDaemonReload = "systemd.daemon-reload"
    case systemdEnable = "systemd.enable"
    case systemdStart = "systemd.start"
    case systemdRestart = "systemd.restart"
    case systemdDisable = "systemd.disable"
    case containerCreate = "container.create"
    case containerRecreate = "container.recreate"
    case containerStart = "container.start"
    case containerAdopt = "container.adopt"
    case containerRemove = "container.remove"
    /// Waiting until a container runs (and is healthy, with a health check).
    case containerWait = "container.wait"
    case containerReload = "container.reload"
    case containerRestart = "container.restart"
    /// A private key created once (Mailu's DKIM keys).
    case keyCreate = "key.create"
    /// The application's objects imported in its container (Mailu's `config-import --update`).
    case objectsImport = "objects.import"
    /// Bookkeeping in `applied.json` that failed.
    case stateWrite = "state.write"
    /// Pulling an image the rollout needs, before anything on the host changes.
    case imagePull = "image.pull"

    /// The step that runs a `systemctl` action: `systemd.` and the verb.
    public static func systemd(_ service: ServiceAction) -> StepAction {
        switch service {
        case .daemonReload: .systemdDaemonReload
        case .enable: .systemdEnable
        case .start: .systemdStart
        case .restart: .systemdRestart
        case .disableNow: .systemdDisable
        }
    }

    public var description: String { rawValue }
}
