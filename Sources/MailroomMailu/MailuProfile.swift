import MailroomSpec
import MailroomSupport


/// Expands the Mailu settings into the guide's 13 containers, its directories and its files.
/// The service table below is the guide, as data: host numbers, volumes, logging and the
/// systemd ordering section's `After=`/`Requires=` edges.
public struct MailuProfile: Profile {
    public init() {}

    public var sectionKeys: [String] { ["mailu", "domains", "caddy"] }

    /// Reads `mailu`, `domains` and `caddy`, and checks them.
    public func read(_ top: MappingReader, file: String, _ d: inout DiagnosticCollector) -> any ProfileSettings {
        let settings = MailuSettings.read(mailu: top["mailu"], domains: top["domains"], caddy: top["caddy"], top: top, &d)
        settings.validate(file: file, &d)
        return settings
    }

    /// One container of the guide.
    struct Service: Sendable {
        var name: String
        /// The switch in `components` that turns it off; `nil` when it always runs.
        var component: Component?
        /// Last part of its addresses: `10.90.0.N` and `fd00::1:8:N`.
        var hostNumber: UInt64
        var hostname: String?
        /// Image name under the Mailu registry; `nil` for images named elsewhere.
        var mailuImage: String?
        var readsEnvFile: Bool
        var journald: Bool
        /// `(host path, container path, read-only)`; host paths start with a root placeholder.
        var volumes: [Mount]
        var dependsOn: [String]
        /// The `*_ADDRESS` variable Mailu reads to find it.
        var addressVariable: String?
    }

    /// Containers that `mailu.components` can switch off.
    enum Component: Sendable {
        case resolver, oletools, antivirus, webdav, fetchmail, webmail

        func isOn(in c: MailuSettings.Components) -> Bool {
            switch self {
            case .resolver: c.resolver
            case .oletools: c.oletools
            case .antivirus: c.antivirus
            case .webdav: c.webdav
            case .fetchmail: c.fetchmail
            case .webmail: c.webmail
            }
        }
    }

    /// A bind mount; the host path starts with `$ROOT`, `$FILTER` or `$CADDY`.
    struct Mount: Sendable {
        var host: String
        var container: String
        var readOnly = false
    }

    /// The guide's containers in the order it runs them.
    static let services: [Service] = [
        Service(name: "caddy2", hostNumber: 2, hostname: nil, mailuImage: nil, readsEnvFile: false, journald: false,
                volumes: [Mount(host: "$CADDY/Caddyfile", container: "/etc/caddy/Caddyfile"), Mount(host: "$CADDY/config/", container: "/config/"),
                          Mount(host: "$CADDY/data/", container: "/data/")],
                dependsOn: []),
        Service(name: "mailu-resolver", component: .resolver, hostNumber: 34, hostname: "resolver", mailuImage: "unbound",
                readsEnvFile: true, journald: false, volumes: [], dependsOn: [], addressVariable: "RESOLVER_ADDRESS"),
        Service(name: "mailu-front", hostNumber: 32, hostname: "front", mailuImage: "nginx", readsEnvFile: true, journald: true,
                volumes: [Mount(host: "$ROOT/certs/", container: "/certs/"), Mount(host: "$ROOT/overrides/nginx/", container: "/overrides/", readOnly: true)],
                dependsOn: ["mailu-resolver"], addressVariable: "FRONT_ADDRESS"),
        Service(name: "mailu-redis", hostNumber: 33, hostname: "redis", mailuImage: nil, readsEnvFile: false, journald: false,
                volumes: [Mount(host: "$ROOT/redis/", container: "/data/")], dependsOn: ["mailu-resolver"], addressVariable: "REDIS_ADDRESS"),
        Service(name: "mailu-admin", hostNumber: 35, hostname: "admin", mailuImage: "admin", readsEnvFile: true, journald: true,
                volumes: [Mount(host: "$ROOT/data/", container: "/data/"), Mount(host: "$ROOT/dkim/", container: "/dkim/")],
                dependsOn: ["mailu-redis", "mailu-resolver"], addressVariable: "ADMIN_ADDRESS"),
        Service(name: "mailu-imap", hostNumber: 36, hostname: "imap", mailuImage: "dovecot", readsEnvFile: true, journald: true,
                volumes: [Mount(host: "$ROOT/mail/", container: "/mail/"), Mount(host: "$ROOT/overrides/dovecot/", container: "/overrides/", readOnly: true)],
                dependsOn: ["mailu-front", "mailu-resolver"], addressVariable: "IMAP_ADDRESS"),
        Service(name: "mailu-smtp", hostNumber: 37, hostname: "smtp", mailuImage: "postfix", readsEnvFile: true, journald: true,
                volumes: [Mount(host: "$ROOT/mailqueue/", container: "/queue/"), Mount(host: "$ROOT/overrides/postfix/", container: "/overrides/", readOnly: true)],
                dependsOn: ["mailu-front", "mailu-resolver"], addressVariable: "SMTP_ADDRESS"),
        Service(name: "mailu-oletools", component: .oletools, hostNumber: 38, hostname: "oletools", mailuImage: "oletools",
                readsEnvFile: false, journald: false, volumes: [], dependsOn: ["mailu-resolver"], addressVariable: "OLETOOLS_ADDRESS"),
        Service(name: "mailu-antivirus", component: .antivirus, hostNumber: 40, hostname: "antivirus", mailuImage: "clamav",
                readsEnvFile: true, journald: false, volumes: [Mount(host: "$FILTER/", container: "/data/")], dependsOn: ["mailu-resolver"],
                addressVariable: "ANTIVIRUS_ADDRESS"),
        Service(name: "mailu-webdav", component: .webdav, hostNumber: 41, hostname: "webdav", mailuImage: "radicale",
                readsEnvFile: false, journald: false, volumes: [Mount(host: "$ROOT/dav/", container: "/data/")], dependsOn: [],
                addressVariable: "WEBDAV_ADDRESS"),
        Service(name: "mailu-fetchmail", component: .fetchmail, hostNumber: 42, hostname: "fetchmail", mailuImage: "fetchmail",
                readsEnvFile: true, journald: false, volumes: [Mount(host: "$ROOT/data/fetchmail/", container: "/data/")],
                dependsOn: ["mailu-admin", "mailu-smtp", "mailu-imap", "mailu-resolver"], addressVariable: "FETCHMAIL_ADDRESS"),
        Service(name: "mailu-webmail", component: .webmail, hostNumber: 43, hostname: "webmail", mailuImage: "webmail",
                readsEnvFile: true, journald: false,
                volumes: [Mount(host: "$ROOT/webmail/", container: "/data/"), Mount(host: "$ROOT/overrides/roundcube/", container: "/overrides/", readOnly: true)],
                dependsOn: ["mailu-front"], addressVariable: "WEBMAIL_ADDRESS"),
        Service(name: "mailu-antispam", hostNumber: 39, hostname: "antispam", mailuImage: "rspamd", readsEnvFile: true, journald: true,
                volumes: [Mount(host: "$FILTER/", container: "/var/lib/rspamd/"), Mount(host: "$ROOT/overrides/rspamd/", container: "/overrides/", readOnly: true)],
                dependsOn: ["mailu-front", "mailu-redis", "mailu-oletools", "mailu-antivirus", "mailu-resolver"],
                addressVariable: "ANTISPAM_ADDRESS"),
    ]

    /// The guide's order for the `*_ADDRESS` lines it adds to `mailu.env`.
    static let addressOrder = [
        "ADMIN_ADDRESS", "ANTISPAM_ADDRESS", "ANTIVIRUS_ADDRESS", "FRONT_ADDRESS", "IMAP_ADDRESS", "REDIS_ADDRESS",
        "SMTP_ADDRESS", "WEBDAV_ADDRESS", "WEBMAIL_ADDRESS", "RESOLVER_ADDRESS", "OLETOOLS_ADDRESS", "FETCHMAIL_ADDRESS",
    ]

    /// Mail ports the front publishes on the public IPv4 address.
    static let mailPorts = [25, 110, 143, 465, 587, 993, 995]

    static let disclaimer = KeyValue("I_KNOW_MY_SETUP_DOESNT_FIT_REQUIREMENTS_AND_WONT_FILE_ISSUES_WITHOUT_PATCHES", "1")

    /// The paths of generated files and directories, derived from the settings.
    struct Paths {
        var envFile: String
        var caddyfile: String
        var caddySites: String
        var caddyReuse: String

        init(_ s: MailuSettings) {
            let root = s.root.trimmingTrailingSlash, caddy = s.caddy.root.trimmingTrailingSlash
            envFile = "\(root)/mailu.env"
            caddyfile = "\(caddy)/Caddyfile"
            caddySites = "\(caddy)/config/site"
            caddyReuse = "\(caddy)/config/reuse"
        }
    }

    /// Expands a spec. Patches in `containers:` apply after the profile's defaults;
    /// `mailu.env` is written from the final addresses.
    static func expand(_ spec: DeploymentSpec, settings s: MailuSettings, secrets: SecretValues, _ d: inout DiagnosticCollector)
        -> ExplicitSpec
    {
        let network = spec.network
        let mailuLocation = s.location(of: "mailu", fallback: SourceLocation(file: spec.file, line: 1, column: 1))
        let paths = Paths(s)
        let v4 = network.ipv4Subnet, v6 = network.ipv6Subnet

        func expandPath(_ template: String) -> String {
            template.replacingAll("$ROOT", with: s.root.trimmingTrailingSlash)
                .replacingAll("$FILTER", with: s.filterDir.trimmingTrailingSlash)
                .replacingAll("$CADDY", with: s.caddy.root.trimmingTrailingSlash)
        }

        let enabled = services.filter { service in service.component?.isOn(in: s.components) ?? true }
        let enabledNames = Set(enabled.map(\.name))
        let resolverIP = s.components.resolver ? v4.map { $0.network.adding(34).description } : nil

        var containers: [ContainerDefinition] = enabled.map { service in
            let image: String
            switch service.name {
            case "caddy2": image = s.caddy.image
            case "mailu-redis": image = "docker.io/library/redis:alpine"
            default: image = "\(s.imageRegistry.trimmingTrailingSlash)/\(service.mailuImage ?? service.name):\(s.version)"
            }
            var c = ContainerDefinition(name: service.name, image: image, network: network.name, origin: mailuLocation)
            c.hostname = service.hostname
            c.ip = v4.map { $0.network.adding(service.hostNumber).description }
            // The guide numbers both stacks alike: host 32 is 10.90.0.32 and fd00::1:8:32.
            c.ip6 = v6.map { $0.network.adding(UInt64(String(service.hostNumber), radix: 16) ?? 0).description }
            c.origins["ip"] = network.location
            c.origins["ip6"] = network.location
            if service.name != "caddy2", service.name != "mailu-resolver", let resolverIP { c.dns = [resolverIP] }
            if service.readsEnvFile { c.envFiles = [paths.envFile] }
            if service.name == "mailu-admin" { c.env = [disclaimer] }
            c.volumes = service.volumes.map { "\(expandPath($0.host)):\($0.container)\($0.readOnly ? ":ro" : "")" }
            if service.name == "caddy2" {
                c.ports = ["80:80/tcp", "443:443/tcp", "443:443/udp"]
                c.memory = "1g"
                c.memoryReservation = "256m"
                c.origins["ports"] = s.location(of: "caddy", fallback: mailuLocation)
            }
            if service.name == "mailu-front" {
                c.ports = mailPorts.map { "\(s.publicIPv4):\($0):\($0)/tcp" }
                c.origins["ports"] = s.location(of: "mailu.public_ipv4", fallback: mailuLocation)
            }
            if service.name == "caddy2" || service.name == "mailu-redis" {
                c.labels = [KeyValue("io.containers.autoupdate", "registry")]
            }
            if service.journald {
                c.logDriver = "journald"
                c.logOptions = ["tag=\(service.name)"]
            }
            c.cpuShares = 1024
            c.restart = "always"
            c.dependsOn = service.dependsOn.filter(enabledNames.contains)
            return c
        }

        // Patches: overrides of profile containers, containers switched off, and new containers.
        for patch in spec.containers {
            if let index = containers.firstIndex(where: { $0.name == patch.name }) {
                if patch.enabled == false {
                    let removed = containers.remove(at: index).name
                    for i in containers.indices { containers[i].dependsOn.removeAll { $0 == removed } }
                } else {
                    containers[index].apply(patch)
                }
            } else if services.contains(where: { $0.name == patch.name }) {
                if patch.enabled != false {
                    d.report(.invalidValue, at: patch.location, field: "containers.\(patch.name)",
                             "'\(patch.name)' is switched off in mailu.components",
                             hint: "turn it on under mailu.components instead of overriding it")
                }
            } else if patch.enabled != false, let container = ContainerDefinition(newFrom: patch, network: network.name, &d) {
                containers.append(container)
            }
        }

        if !spec.prefix.isEmpty {
            for i in containers.indices {
                containers[i].name = spec.prefix + containers[i].name
                containers[i].dependsOn = containers[i].dependsOn.map { spec.prefix + $0 }
                containers[i].logOptions = containers[i].logOptions.map { $0.hasPrefix("tag=") ? "tag=\(spec.prefix)\($0.dropFirst(4))" : $0 }
            }
        }

        // Mailu finds its services through *_ADDRESS, taken from the final IPv4 addresses.
        var addresses: [String: String] = [:]
        for service in services {
            guard let variable = service.addressVariable,
                let container = containers.first(where: { $0.name == spec.prefix + service.name }),
                let ip = container.ip
            else { continue }
            addresses[variable] = ip
        }

        let envFile = MailuEnvFile.render(settings: s, network: network, addresses: addresses, secrets: secrets)
        let caddyFiles = CaddyFiles.render(settings: s, frontAddress: addresses["FRONT_ADDRESS"] ?? "127.0.0.1", paths: paths,
                                           container: spec.prefix + "caddy2")

        var directories = [
            "$CADDY/config/site/", "$CADDY/config/reuse/", "$CADDY/data/", "$ROOT/certs/", "$ROOT/overrides/nginx/",
            "$ROOT/redis/", "$ROOT/data/", "$ROOT/dkim/", "$ROOT/mail/", "$ROOT/overrides/dovecot/", "$ROOT/mailqueue/",
            "$ROOT/overrides/postfix/", "$FILTER/", "$ROOT/overrides/rspamd/", "$ROOT/dav/", "$ROOT/data/fetchmail/",
            "$ROOT/webmail/", "$ROOT/overrides/roundcube/",
        ].map(expandPath)
        // Directories of every bind mount must exist too, for added containers as well.
        for container in containers {
            for source in container.mountSources where source.hasSuffix("/") && !directories.contains(where: { $0.hasPrefix(source) }) {
                directories.append(source)
            }
        }
        return ExplicitSpec(
            network: network, containers: containers,
            files: [FileDefinition(path: paths.envFile, content: envFile.content, mode: 0o600, redactions: envFile.secretValues)]
                + caddyFiles,
            directories: directories, application: ApplicationVersion(application: "Mailu", version: s.version))
    }
}

extension MailuSettings: ProfileSettings {
    public func expand(_ spec: DeploymentSpec, secrets: SecretValues, _ d: inout DiagnosticCollector) -> ExplicitSpec {
        MailuProfile.expand(spec, settings: self, secrets: secrets, &d)
    }
}
