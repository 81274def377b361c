import MailroomSpec
import MailroomSupport

/// A backup MX (`hosts:` entry with `role: backup-mx`): a Mailu of its own on its own host that
/// receives mail for the deployment's domains on port 25 and relays it to the primary, as
/// Mailu's FAQ describes it (the domains as relayed domains, a higher MX preference).
///
/// It runs Mailu's core without what serves mailboxes (webmail, webdav, fetchmail) and without
/// the scanners the primary runs again (antivirus, oletools), and hides the admin UI. imap runs,
/// holding no mailbox, because Mailu's admin looks its address up at start.
extension MailuProfile {
    static func expandBackupMX(
        _ host: HostSpec, of spec: DeploymentSpec, settings s: MailuSettings, secrets: SecretValues,
        _ d: inout DiagnosticCollector
    ) -> ExplicitSpec {
        let settings = s.backupMXSettings(on: host)
        let receiving = Set(services.filter { $0.isEnabled(in: settings.components) }.map(\.name))
        var own = spec
        own.hosts = []
        own.network = host.network(from: spec.network)
        // Overrides of its containers apply; containers the spec adds run on the members.
        own.containers = spec.containers.filter { receiving.contains($0.name) }
        // Problems of the shared settings are reported once, by the primary's expansion.
        var scratch = DiagnosticCollector()
        let explicit = expand(own, settings: settings, secrets: secrets, &scratch)
        for diagnostic in scratch.diagnostics where !d.diagnostics.contains(diagnostic) { d.report(diagnostic) }
        return explicit
    }
}

extension MailuSettings {
    /// The settings of a backup MX on `host`: its own name and addresses, the receiving
    /// components only, and every domain relayed to the primary's first hostname.
    func backupMXSettings(on host: HostSpec) -> MailuSettings {
        var b = self
        let primary = hostnames.first ?? mainDomain
        b.relayTarget = primary
        b.backupMX = []
        b.hostnames = [host.hostname ?? ""]
        b.publicIPv4 = host.publicIPv4 ?? ""
        b.publicIPv6 = host.publicIPv6 ?? ""
        b.website = "https://\(host.hostname ?? "")"
        b.ipv6 = ipv6 && host.subnet6 != nil
        b.components.admin = false
        b.components.api = false
        b.components.webmail = false
        b.components.webdav = false
        b.components.fetchmail = false
        b.components.antivirus = false
        b.components.oletools = false
        b.welcome.enabled = false
        b.mtaSTS = nil
        b.caddy.sites = []
        var mail = MailSettings()
        mail.location = self.mail.location
        mail.relays = domains.enumerated().map { index, domain in
            MailSettings.Relay(
                name: domain,
                fields: [
                    "smtp": .string(primary), "comment": .string("backup MX: relayed to the primary \(primary)"),
                ],
                location: location(of: "domains[\(index)]", fallback: host.location))
        }
        b.mail = mail
        return b
    }
}

extension MailuSettings {
    /// A spec's Mailu settings with its backup MX hosts known (for DNS, whichever host asks);
    /// with `host` naming a backup MX, the settings that host runs (its name and addresses).
    public static func of(_ spec: DeploymentSpec, host: String? = nil) -> MailuSettings? {
        guard var settings = spec.settings as? MailuSettings else { return nil }
        settings.backupMX = spec.hosts.filter { $0.role == .backupMX }
        if let host, let backup = settings.backupMX.first(where: { $0.name == host }) {
            return settings.backupMXSettings(on: backup)
        }
        return settings
    }
}
