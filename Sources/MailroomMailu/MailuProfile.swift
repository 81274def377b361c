import MailroomSpec
import MailroomSupport

/// Expands the Mailu settings into the guide's 13 containers, its directories and its files.
/// The service table below is the guide, as data: host numbers, volumes, logging and the
/// systemd ordering section's `After=`/`Requires=` edges.
public struct MailuProfile: Profile {
    public init() {}

    public var sectionKeys: [String] { ["mailu", "domains", "caddy", "mail"] }

    /// Reads `mailu`, `domains`, `caddy` and `mail`, and checks them.
    public func read(_ top: MappingReader, file: String, _ d: inout DiagnosticCollector) -> any ProfileSettings {
        var settings = MailuSettings.read(
            mailu: top["mailu"], domains: top["domains"], caddy: top["caddy"], top: top, &d)
        settings.mail = MailSettings.read(top["mail"], &d)
        settings.validate(file: file, &d)
        settings.mail.check(settings, &d)
        return settings
    }

    /// The paths of generated files and directories, derived from the settings.
    struct Paths {
        var envFile: String
        var caddyfile: String
        var caddySites: String
        var caddyReuse: String

        init(_ s: MailuSettings) {
            let root = s.root.trimmingTrailingSlash
            let caddy = s.caddy.root.trimmingTrailingSlash
            envFile = "\(root)/mailu.env"
            caddyfile = "\(caddy)/Caddyfile"
            caddySites = "\(caddy)/config/site"
            caddyReuse = "\(caddy)/config/reuse"
        }
    }

    /// Expands a spec: the enabled services as containers, the `containers:` patches on top,
    /// the prefix, then `mailu.env` from the final addresses, the Caddyfiles and the directories.
    static func expand(
        _ spec: DeploymentSpec, settings s: MailuSettings, secrets: SecretValues, _ d: inout DiagnosticCollector
    )
        -> ExplicitSpec
    {
        s.checkAgainst(spec, &d)
        var s = s
        s.backupMX = spec.hosts.filter { $0.role == .backupMX }
        let expansion = Expansion(spec: spec, settings: s)
        let enabled = services.filter { $0.isEnabled(in: s.components) }
        var containers = enabled.map { expansion.container(for: $0, enabled: Set(enabled.map(\.name))) }
        applyPatches(spec.containers, to: &containers, network: spec.network.name, &d)
        checkPlacement(spec, containers, &d)
        let warnings = memoryWarnings(spec, containers)
        applyPrefix(spec.prefix, to: &containers)

        let addresses = serviceAddresses(containers, prefix: spec.prefix)
        let envFile = MailuEnvFile.render(settings: s, network: spec.network, addresses: addresses, secrets: secrets)
        let caddyFiles = CaddyFiles.render(
            settings: s, frontAddress: addresses["FRONT_ADDRESS"] ?? "127.0.0.1",
            paths: expansion.paths, container: spec.prefix + "caddy2")
        // Mailu's objects live in the admin container's database; without it they are not managed.
        let admin = containers.first { $0.name == spec.prefix + "mailu-admin" }
        if admin == nil, !s.mail.isEmpty, let location = s.mail.location {
            d.report(
                .invalidValue, at: location, field: "mail",
                "mail objects are applied through mailu-admin, which containers: switches off",
                hint: "keep mailu-admin, or remove the mail section")
        }
        var explicit = ExplicitSpec(
            network: spec.network, containers: containers,
            files: [
                FileDefinition(
                    path: expansion.paths.envFile, content: envFile.content, mode: 0o600,
                    redactions: envFile.secretValues)
            ] + caddyFiles,
            directories: expansion.directories(enabled, containers),
            application: ApplicationVersion(application: "Mailu", version: s.version),
            objects: admin.map { s.mail.store(settings: s, container: $0.name, secrets: secrets) },
            keys: admin == nil || s.relayTarget != nil ? [] : MailSettings.dkimKeys(s))
        if !spec.hosts.isEmpty {
            var warnings = warnings
            for host in s.backupMX {
                let backup = expandBackupMX(host, of: spec, settings: s, secrets: secrets, &d)
                explicit.separateDeployments[host.name] = backup
                let names = backup.containers.map { String($0.name.dropFirst(spec.prefix.count)) }
                if let warning = memoryWarning(host, running: names) {
                    warnings[host.name, default: []].append(warning)
                }
            }
            explicit.layout = HostLayout(hosts: spec.hosts, current: "", warnings: warnings)
        }
        return explicit
    }

    /// What one spec's settings make of the service table.
    struct Expansion {
        let settings: MailuSettings
        let network: NetworkSpec
        let paths: Paths
        let location: SourceLocation
        let hosts: [HostSpec]

        init(spec: DeploymentSpec, settings: MailuSettings) {
            self.settings = settings
            network = spec.network
            hosts = spec.hosts
            paths = Paths(settings)
            location = settings.location(of: "mailu", fallback: SourceLocation(file: spec.file, line: 1, column: 1))
        }

        /// A host path with its root placeholder replaced.
        func path(_ template: String) -> String {
            let s = settings
            return template.replacingAll("$ROOT", with: s.root.trimmingTrailingSlash)
                .replacingAll("$FILTER", with: s.filterDir.trimmingTrailingSlash)
                .replacingAll("$CADDY", with: s.caddy.root.trimmingTrailingSlash)
        }

        /// `10.90.0.N` for a host number, and `fd00::1:8:N`: the guide numbers both stacks alike,
        /// so host 32 is `10.90.0.32` and `fd00::1:8:32`. On several hosts, N counts from the
        /// start of the subnet of the host the service runs on.
        func addresses(_ hostNumber: UInt64, of service: String) -> (v4: String?, v6: String?) {
            let host = HostLayout.host(of: service, in: hosts)
            let v4 = host.map(\.ipv4Subnet) ?? network.ipv4Subnet
            let v6 = host.map(\.ipv6Subnet) ?? network.ipv6Subnet
            return (
                v4.map { $0.network.adding(hostNumber).description },
                v6.map { $0.network.adding(UInt64(String(hostNumber), radix: 16) ?? 0).description }
            )
        }

        func container(for service: Service, enabled: Set<String>) -> ContainerDefinition {
            let s = settings
            var c = ContainerDefinition(
                name: service.name, image: image(service.image), network: network.name, origin: location)
            c.hostname = service.hostname
            (c.ip, c.ip6) = addresses(service.hostNumber, of: service.name)
            c.origins["ip"] = network.location
            c.origins["ip6"] = network.location
            if service.usesResolver, s.components.resolver,
                let resolver = addresses(resolver.hostNumber, of: resolver.name).v4
            {
                c.dns = [resolver]
            }
            if service.readsEnvFile { c.envFiles = [paths.envFile] }
            c.env = service.env
            c.labels = service.labels
            c.volumes = service.volumes.map { "\(path($0.host)):\($0.container)\($0.readOnly ? ":ro" : "")" }
            switch service.ports {
            case .none: break
            case .web:
                c.ports = ["80:80/tcp", "443:443/tcp", "443:443/udp"]
                c.origins["ports"] = s.location(of: "caddy", fallback: location)
            case .mail:
                // A backup MX only receives: port 25 alone.
                let ports = s.relayTarget == nil ? mailPorts : [25]
                c.ports = ports.map { "\(s.publicIPv4):\($0):\($0)/tcp" }
                c.origins["ports"] = s.location(of: "mailu.public_ipv4", fallback: location)
            }
            c.memory = service.memory
            c.memoryReservation = service.memoryReservation
            if service.journald {
                c.logDriver = "journald"
                c.logOptions = ["tag=\(service.name)"]
            }
            c.cpuShares = 1024
            c.restart = "always"
            c.dependsOn = service.dependsOn.filter(enabled.contains)
            return c
        }

        func image(_ image: Image) -> String {
            switch image {
            case .mailu(let name): "\(settings.imageRegistry.trimmingTrailingSlash)/\(name):\(settings.version)"
            case .caddy: settings.caddy.image
            case .named(let reference): reference
            }
        }

        /// The guide's `mkdir -p` list for the enabled services, then the directories of any other
        /// bind mount (containers added or changed in `containers:`).
        func directories(_ enabled: [Service], _ containers: [ContainerDefinition]) -> [String] {
            var directories: [String] = []
            for directory in enabled.flatMap({ $0.volumes.flatMap(\.directories) }).map(path)
            where !directories.contains(directory) {
                directories.append(directory)
            }
            for source in containers.flatMap(\.mountSources)
            where source.hasSuffix("/") && !directories.contains(where: { $0.hasPrefix(source) }) {
                directories.append(source)
            }
            return directories
        }
    }

    /// Patches in `containers:`: overrides of profile containers, containers switched off, and new ones.
    static func applyPatches(
        _ patches: [ContainerPatch], to containers: inout [ContainerDefinition], network: String,
        _ d: inout DiagnosticCollector
    ) {
        for patch in patches {
            if let index = containers.firstIndex(where: { $0.name == patch.name }) {
                if patch.enabled == false {
                    let removed = containers.remove(at: index).name
                    for i in containers.indices { containers[i].dependsOn.removeAll { $0 == removed } }
                } else {
                    containers[index].apply(patch)
                }
            } else if services.contains(where: { $0.name == patch.name }) {
                if patch.enabled != false {
                    d.report(
                        .invalidValue, at: patch.location, field: "containers.\(patch.name)",
                        "'\(patch.name)' is switched off in mailu.components",
                        hint: "turn it on under mailu.components instead of overriding it")
                }
            } else if patch.image == nil, let guess = closestMatch(to: patch.name, in: services.map(\.name)) {
                // Without an image it can only mean a profile container.
                d.report(
                    .invalidValue, at: patch.location, field: "containers.\(patch.name)",
                    "'\(patch.name)' is not a container of the profile", hint: "did you mean '\(guess)'?")
            } else if patch.enabled != false, let container = ContainerDefinition(newFrom: patch, network: network, &d)
            {
                containers.append(container)
            }
        }
    }

    /// Prepends the spec's prefix to every name, dependency and journald tag.
    static func applyPrefix(_ prefix: String, to containers: inout [ContainerDefinition]) {
        guard !prefix.isEmpty else { return }
        for i in containers.indices {
            containers[i].name = prefix + containers[i].name
            containers[i].dependsOn = containers[i].dependsOn.map { prefix + $0 }
            containers[i].logOptions = containers[i].logOptions.map {
                $0.hasPrefix("tag=") ? "tag=\(prefix)\($0.dropFirst(4))" : $0
            }
        }
    }

    /// Mailu finds its services through `*_ADDRESS`, taken from the final IPv4 addresses.
    static func serviceAddresses(_ containers: [ContainerDefinition], prefix: String) -> [String: String] {
        var addresses: [String: String] = [:]
        for service in services {
            guard let variable = service.addressVariable,
                let container = containers.first(where: { $0.name == prefix + service.name }), let ip = container.ip
            else { continue }
            addresses[variable] = ip
        }
        return addresses
    }
}

extension MailuSettings: ProfileSettings {
    public func expand(_ spec: DeploymentSpec, secrets: SecretValues, _ d: inout DiagnosticCollector) -> ExplicitSpec {
        MailuProfile.expand(spec, settings: self, secrets: secrets, &d)
    }
}
