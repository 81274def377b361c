import Foundation

/// What Mailroom asks of systemd when systemd is PID 1 and owns the containers.
public enum ServiceAction: Sendable, Equatable, CustomStringConvertible {
    case daemonReload
    case enable(String)
    case start(String)
    case restart(String)
    /// `disable --now`: stop the unit and keep it from starting at boot.
    case disableNow(String)

    /// The `systemctl` arguments.
    public var arguments: [String] {
        switch self {
        case .daemonReload: ["daemon-reload"]
        case .enable(let unit): ["enable", unit]
        case .start(let unit): ["start", unit]
        case .restart(let unit): ["restart", unit]
        case .disableNow(let unit): ["disable", "--now", unit]
        }
    }

    public var description: String { (["systemctl"] + arguments).joined(separator: " ") }
}

/// The systemd boundary. `Systemctl` is the real one; tests use a recording fake, since
/// systemd cannot be PID 1 on the development and CI machines.
public protocol ServiceManager: Sendable {
    /// Runs the action; throws `CommandError` (with systemctl's stderr) when it fails.
    func perform(_ action: ServiceAction) async throws
}

/// systemd through `systemctl`.
public struct Systemctl: ServiceManager {
    public var executable: String
    public var runner: ProcessRunner

    public init(executable: String = "/usr/bin/systemctl", runner: ProcessRunner = ProcessRunner()) {
        self.executable = executable
        self.runner = runner
    }

    /// Whether systemd runs this machine (units can own the containers).
    public static func systemdIsPID1() -> Bool {
        var info = stat()
        return stat("/run/systemd/system", &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// `systemctl` when systemd is PID 1 here, else `nil`: containers are then run directly.
    public static func detect(runner: ProcessRunner = ProcessRunner()) -> Systemctl? {
        guard systemdIsPID1(), let path = ProcessRunner.which("systemctl") else { return nil }
        return Systemctl(executable: path, runner: runner)
    }

    public func perform(_ action: ServiceAction) async throws {
        let result = try await runner.run([executable] + action.arguments)
        guard result.succeeded else {
            throw CommandError(
                arguments: ["systemctl"] + action.arguments, status: result.status, stderr: result.stderrText)
        }
    }
}
