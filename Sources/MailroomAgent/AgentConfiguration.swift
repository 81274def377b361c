import Foundation
import MailroomSource
import MailroomSpec
import MailroomSupport
import Yams

/// The agent's one configuration file (`--config`, see `contrib/agent.yaml`).
///
/// ```yaml
/// repository: /srv/git/mail.git
/// branch: main
/// path: deploy
/// poll_interval: 60s
/// state_dir: /var/lib/mailroom
/// listen: 127.0.0.1:9321
/// webhook_secret_file: /etc/mailroom/webhook.secret
/// ```
///
/// Keys are snake_case, as in `mailroom.yaml`; the kebab-case spelling of 0.1 (`poll-interval`)
/// is still read, with a warning in ``warnings``.
public struct AgentConfiguration: Sendable, Equatable {
    public var repository: String
    public var branch = "main"
    /// The spec directory inside the repository; `""` is the root.
    public var path = ""
    public var pollInterval: Duration = .seconds(60)
    /// The periodic full resync, a safety net under the event triggers.
    public var resyncInterval: Duration = .seconds(600)
    /// How long file events settle before a reconcile.
    public var debounce: Duration = .milliseconds(200)
    /// Directories watched recursively besides the spec's own override inputs and generated files.
    public var overrideDirectories: [String] = []
    public var stateDirectory = "/var/lib/mailroom"
    public var unitsDirectory = "/etc/systemd/system"
    /// The KEY=value file of the secrets the spec names.
    public var secretsFile = "/etc/mailroom/secrets.env"
    /// Which of the spec's `hosts:` this agent converges; `nil` is the machine's hostname.
    public var hostName: String?
    /// Host and port of the webhook and status listener.
    public var listenHost = ListenAddress.agentDefault.host
    public var listenPort = ListenAddress.agentDefault.port
    /// The webhook's HMAC secret; without one, `/webhook` answers 401 to everything.
    public var webhookSecretFile: String?
    /// Self-heal budget: restarts per container within the window before it is marked degraded.
    public var selfHealRestarts = 5
    public var selfHealWindow: Duration = .seconds(300)
    public var healthTimeout: Duration = .seconds(300)
    /// How long a container without a health check must stay up after a start (see ``ApplyOptions/settleTime``).
    public var settleTime: Duration = .seconds(3)
    public var dryRun = false
    /// How often the host checks (`mailroom doctor`'s) run; nil (`check_interval: off`) never.
    public var checkInterval: Duration? = .seconds(3600)
    /// Whether those checks include the ones that reach outside the host (outbound port 25).
    public var checkOutside = true
    /// Deprecated spellings read from the file, `file:line: warning: …` each; the agent logs them.
    public var warnings: [String] = []

    public init(repository: String) {
        self.repository = repository
    }

    /// The host's paths, as `apply` uses them.
    public var host: HostPaths {
        HostPaths(
            stateDirectory: stateDirectory, unitsDirectory: unitsDirectory, secretsFile: secretsFile, hostName: hostName
        )
    }

    public static func load(file: String) throws -> AgentConfiguration {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw AgentConfigurationError(file: file, line: 1, "cannot read the agent configuration")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: file)
    }

    /// Parses the YAML text; errors name `file:line` and the key.
    public static func parse(_ text: String, file: String) throws -> AgentConfiguration {
        let root: Node?
        do {
            // No tag resolution: every value is read from its text (`Node.bool` too: it lowercases
            // any untagged scalar). Yams' default resolver matches scalars against
            // NSRegularExpressions, which keeps ICU's regex engine resident in the agent.
            root = try Yams.compose(yaml: text, .basic)
        } catch let error as YamlError {
            // Where a list, mapping or string left open began, as for the spec.
            throw AgentConfigurationError(
                file: file, line: error.location(file: file).line, error.summary)
        }
        guard let root, case .mapping(let mapping) = root else {
            throw AgentConfigurationError(
                file: file, line: 1, "the agent configuration must be a mapping of keys to values")
        }
        var config = AgentConfiguration(repository: "")
        var sawRepository = false
        for (keyNode, value) in mapping {
            let line = keyNode.mark?.line ?? 1
            let key = canonicalKey(keyNode.string ?? "", line: line, file: file, &config.warnings)
            func fail(_ message: String) -> AgentConfigurationError {
                AgentConfigurationError(file: file, line: value.mark?.line ?? line, "\(key): \(message)")
            }
            func string() throws -> String {
                guard let s = value.string, !s.isEmpty else { throw fail("expected a non-empty string") }
                return s
            }
            func duration() throws -> Duration {
                guard let s = value.string, let d = parseDuration(s) else {
                    throw fail("expected a duration such as 500ms, 30s, 10m or 1h")
                }
                return d
            }
            switch key {
            case "repository":
                config.repository = try string()
                sawRepository = true
            case "branch": config.branch = try string()
            case "path": config.path = value.string ?? ""
            case "poll_interval":
                config.pollInterval = try duration()
                guard config.pollInterval >= PollSchedule.minimumInterval else {
                    throw fail(
                        "at least \(PollSchedule.minimumInterval) (local repositories are watched with inotify, without polling)"
                    )
                }
            case "resync_interval": config.resyncInterval = try duration()
            case "debounce": config.debounce = try duration()
            case "state_dir": config.stateDirectory = try string()
            case "units_dir": config.unitsDirectory = try string()
            case "secrets_file": config.secretsFile = try string()
            case "host": config.hostName = try string()
            case "webhook_secret_file": config.webhookSecretFile = try string()
            case "health_timeout": config.healthTimeout = try duration()
            case "settle_time": config.settleTime = try duration()
            case "dry_run":
                guard let b = value.bool else { throw fail("expected true or false") }
                config.dryRun = b
            case "check_interval":
                if value.string == "off" {
                    config.checkInterval = nil
                } else {
                    config.checkInterval = try duration()
                    guard config.checkInterval! > .zero else { throw fail("expected a duration above 0, or off") }
                }
            case "check_outside":
                guard let b = value.bool else { throw fail("expected true or false") }
                config.checkOutside = b
            case "override_dirs":
                guard case .sequence(let items) = value else { throw fail("expected a list of directories") }
                config.overrideDirectories = try items.map {
                    guard let s = $0.string, s.hasPrefix("/") else {
                        throw AgentConfigurationError(
                            file: file, line: $0.mark?.line ?? line, "override_dirs: expected absolute paths")
                    }
                    return s
                }
            case "listen":
                guard let address = ListenAddress(try string()) else {
                    throw fail("expected IP:PORT, such as 127.0.0.1:9321 or [::1]:9321")
                }
                config.listenHost = address.host
                config.listenPort = address.port
            case "self_heal":
                guard case .mapping(let budget) = value else { throw fail("expected restarts: and window:") }
                for (k, v) in budget {
                    let subline = v.mark?.line ?? line
                    switch k.string {
                    case "restarts":
                        guard let n = v.string.flatMap({ Int($0) }), n >= 0 else {
                            throw AgentConfigurationError(
                                file: file, line: subline, "self_heal.restarts: expected a whole number")
                        }
                        config.selfHealRestarts = n
                    case "window":
                        guard let d = v.string.flatMap(parseDuration) else {
                            throw AgentConfigurationError(
                                file: file, line: subline, "self_heal.window: expected a duration such as 5m")
                        }
                        config.selfHealWindow = d
                    default:
                        throw AgentConfigurationError(
                            file: file, line: k.mark?.line ?? line,
                            "self_heal: unknown key '\(k.string ?? "")' (restarts, window)")
                    }
                }
            default:
                throw AgentConfigurationError(
                    file: file, line: line, "unknown key '\(key)'",
                    hint: "known keys: \(knownKeys.joined(separator: ", "))")
            }
        }
        guard sawRepository else {
            throw AgentConfigurationError(
                file: file, line: 1, "repository: missing; name the git repository holding the spec")
        }
        return config
    }

    static let knownKeys = [
        "repository", "branch", "path", "poll_interval", "resync_interval", "debounce", "override_dirs", "state_dir",
        "units_dir", "secrets_file", "listen", "webhook_secret_file", "self_heal", "health_timeout", "settle_time",
        "dry_run", "check_interval", "check_outside", "host",
    ]

    /// The key as the switch knows it: a known key's kebab-case spelling (0.1's) is read as its
    /// snake_case one, with a warning; anything else stays as written.
    static func canonicalKey(_ written: String, line: Int, file: String, _ warnings: inout [String]) -> String {
        let snake = written.replacingOccurrences(of: "-", with: "_")
        guard snake != written, knownKeys.contains(snake) else { return written }
        warnings.append(
            "\(file):\(line): warning: '\(written)' is the old spelling of '\(snake)'; keys are snake_case, as in mailroom.yaml (the old spelling will stop working in a later release)"
        )
        return snake
    }
}

/// `250ms`, `30s`, `10m`, `1h`; a bare number is seconds.
func parseDuration(_ text: String) -> Duration? {
    let s = text.trimmingCharacters(in: .whitespaces)
    for (suffix, scale) in [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)] where s.hasSuffix(suffix) {
        guard let n = Double(s.dropLast(suffix.count)), n >= 0 else { return nil }
        return .milliseconds(Int64((n * scale * 1000).rounded()))
    }
    return Double(s).flatMap { $0 >= 0 ? .milliseconds(Int64($0 * 1000)) : nil }
}

/// A problem in the agent configuration, at `file:line`.
public struct AgentConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String
    public var hint: String?

    public init(file: String, line: Int, _ message: String, hint: String? = nil) {
        self.file = file
        self.line = line
        self.message = message
        self.hint = hint
    }

    public var description: String {
        "\(file):\(line): error: \(message)" + (hint.map { "\n  hint: \($0)" } ?? "")
    }
}
