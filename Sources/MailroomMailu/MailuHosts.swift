import MailroomSpec
import MailroomSupport

/// What Mailu asks of a deployment spread over several hosts (`hosts:`).
extension MailuProfile {
    /// Refuses placements Mailu cannot run: a listed container that does not exist, admin and
    /// fetchmail apart (fetchmail reads a directory of admin's data), and the mail ports
    /// published on a host without front (the ports are front's).
    static func checkPlacement(
        _ spec: DeploymentSpec, _ containers: [ContainerDefinition], _ d: inout DiagnosticCollector
    ) {
        guard !spec.hosts.isEmpty else { return }
        let names = containers.map(\.name)
        for host in spec.hosts {
            for name in host.containers where !names.contains(name) {
                let guess = closestMatch(to: name, in: names).map { "did you mean '\($0)'?" }
                d.report(
                    .invalidValue, at: host.location, field: "hosts.\(host.name).containers",
                    "'\(name)' is not a container of this spec (or is switched off)",
                    hint: guess ?? "name a container of the profile or of containers:")
            }
        }
        func host(_ name: String) -> HostSpec? {
            names.contains(name) ? HostLayout.host(of: name, in: spec.hosts) : nil
        }
        if let admin = host("mailu-admin"), let fetchmail = host("mailu-fetchmail"), admin.name != fetchmail.name {
            d.report(
                .invalidValue, at: fetchmail.location, field: "hosts.\(fetchmail.name).containers",
                "mailu-fetchmail is on host '\(fetchmail.name)' but mailu-admin on '\(admin.name)': "
                    + "fetchmail reads a directory of admin's data",
                hint: "place mailu-fetchmail on host '\(admin.name)'")
        }
        let front = host("mailu-front")
        for c in containers {
            guard let placed = host(c.name), placed.name != front?.name else { continue }
            let published = c.ports.compactMap { HostRequirements.Port(publish: $0, container: c.name) }
            if let port = published.first(where: { mailPorts.contains($0.port) }) {
                d.report(
                    .invalidValue, at: c.origin(of: "ports"), field: "containers.\(c.name).ports",
                    "\(c.name) publishes mail port \(port.port) on host '\(placed.name)', which does not run mailu-front",
                    hint: "publish the mail ports where mailu-front runs\(front.map { " ('\($0.name)')" } ?? "")")
            }
        }
    }

    /// The guide's memory advice, per host: 2 GiB where Mailu's core runs (front, admin, smtp,
    /// imap), 1 GiB more wherever the antivirus runs (ClamAV holds its signatures in memory),
    /// 512 MiB for a host with only other containers.
    static func memoryWarnings(_ spec: DeploymentSpec, _ containers: [ContainerDefinition]) -> [String: [String]] {
        var warnings: [String: [String]] = [:]
        for host in spec.hosts {
            let here = containers.map(\.name).filter { HostLayout.host(of: $0, in: spec.hosts)?.name == host.name }
            if let warning = memoryWarning(host, running: here) { warnings[host.name, default: []].append(warning) }
        }
        return warnings
    }

    /// The warning for a host that declares less memory than `names` (without the prefix) need.
    static func memoryWarning(_ host: HostSpec, running names: [String]) -> String? {
        guard let memory = host.memoryBytes, !names.isEmpty else { return nil }
        let (need, reason) = memoryNeed(names)
        guard memory < Int64(need) else { return nil }
        let (needing, remedy) =
            host.isMember
            ? ("its containers need", "add memory or move containers to another host")
            : ("a backup MX needs", "add memory")
        return "host '\(host.name)' declares \(memory / (1 << 20)) MiB of memory but \(needing) about "
            + "\(need / (1 << 20)) MiB (\(reason)); \(remedy)"
    }

    /// What one host's containers (named without the prefix) need, and why.
    static func memoryNeed(_ names: [String]) -> (bytes: UInt64, reason: String) {
        let gib = HostRequirements.gibibyte
        let core: Set = ["mailu-front", "mailu-admin", "mailu-smtp", "mailu-imap"]
        let hasCore = names.contains(where: core.contains)
        let base = hasCore ? 2 * gib : gib / 2
        let reason = hasCore ? "2 GiB for Mailu's core" : "512 MiB for its containers"
        return names.contains("mailu-antivirus")
            ? (base + gib, reason + ", 1 GiB for the antivirus") : (base, reason)
    }
}
