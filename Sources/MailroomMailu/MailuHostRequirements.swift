import MailroomSpec
import MailroomSupport

extension MailuSettings {
    /// What the guide's pre-flight asks of the host for this deployment: 2 GiB of memory, 1 GiB
    /// more for ClamAV to hold its signatures, and memory + swap of at least 5 GiB against
    /// bursts; the ports the containers publish as expanded, and the website whose certificate
    /// Caddy serves.
    package func hostRequirements(_ explicit: ExplicitSpec) -> HostRequirements {
        let gib = HostRequirements.gibibyte
        let ports = explicit.containers.flatMap { container in
            container.ports.compactMap { HostRequirements.Port(publish: $0, container: container.name) }
        }
        // One host of several: what its own containers need (`hosts:`).
        let services = MailuProfile.services.map(\.name)
        let share = explicit.layout.map { _ in
            MailuProfile.memoryNeed(
                explicit.containers.map { c in services.first { c.name.hasSuffix($0) } ?? c.name })
        }
        var needs = HostRequirements(
            memoryBytes: share?.bytes ?? (components.antivirus ? 3 * gib : 2 * gib),
            memoryReason: share?.reason
                ?? (components.antivirus ? "2 GiB for Mailu, plus 1 GiB for the antivirus" : "2 GiB for Mailu"),
            memoryPlusSwapBytes: 5 * gib, ports: ports, website: CaddyFiles.websiteHost(self),
            dualStack: explicit.network.subnet6 != nil)
        needs.websiteInternalCA = caddy.tls == "internal"
        return needs
    }
}
