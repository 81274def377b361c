import Foundation
import Logging
import MailroomAgent
import MailroomMailu
import MailroomSupport

/// An in-process agent as tests and the benchmark run it: real podman (``TestPodman``), the
/// Mailu profile, no systemd units, no sd_notify.
package enum TestAgent {
    /// `checks`: the host checks the agent runs every `check_interval` (none by default).
    package static func make(
        _ configuration: AgentConfiguration, logger: Logger, checks: PeriodicChecks.Checks? = nil
    ) throws -> Agent {
        let podman = try TestPodman.podman()
        return try Agent(
            configuration: configuration, engine: podman, profile: MailuProfile(), podmanExecutable: podman.executable,
            serviceManager: nil, logger: logger, notify: SystemdNotify(environment: [:]), checks: checks)
    }
}

extension TestDeployment {
    /// An agent configuration for `repository` with this deployment's state, units and
    /// secrets, its listener on a free loopback port; the rest are the defaults.
    package func agentConfiguration(repository: String) -> AgentConfiguration {
        var config = AgentConfiguration(repository: repository)
        config.stateDirectory = host.stateDirectory
        config.unitsDirectory = host.unitsDirectory
        config.secretsFile = host.secretsFile
        config.listenPort = 0
        return config
    }

    /// Writes the `--config` file of a child `mailroom agent` (``ChildAgent``) for `repository`,
    /// with this deployment's paths (or `paths`, with their `host:`), listening on
    /// 127.0.0.1:`port`; `lines` are added as they are (`health_timeout: 30s`). Returns its path.
    package func writeAgentConfig(
        repository: String, port: Int, _ lines: [String] = [], stateDirectory: String? = nil,
        paths: HostPaths? = nil, file: String = "agent.yaml"
    ) throws -> String {
        let path = root + "/" + file
        let paths = paths ?? host
        let text =
            [
                "repository: \(repository)",
                "state_dir: \(stateDirectory ?? paths.stateDirectory)",
                "units_dir: \(paths.unitsDirectory)",
                "secrets_file: \(paths.secretsFile)",
                "listen: 127.0.0.1:\(port)",
                // The stand-ins have no health checks: a short settle keeps rollouts quick.
                "settle_time: 500ms",
            ] + (paths.hostName.map { ["host: \($0)"] } ?? []) + lines
        try (text.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
