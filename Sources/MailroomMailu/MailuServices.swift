import MailroomSpec
import MailroomSupport

/// The guide's 13 containers as data: the single place for each container's facts. The
/// containers, the directories to make, the resolver's address, the `*_ADDRESS` lines of
/// `mailu.env` and the components that can be switched off all derive from this table.
extension MailuProfile {
    /// One container of the guide.
    struct Service: Sendable {
        var name: String
        /// The switch in `mailu.components` that turns it off; `nil` when it always runs.
        var component: Component?
        /// Last part of its addresses: `10.90.0.N` and `fd00::1:8:N`.
        var hostNumber: UInt64
        var hostname: String?
        var image: Image
        /// Whether it reads `mailu.env` (`--env-file`).
        var readsEnvFile: Bool
        /// Logs to journald under its own tag, as the guide does for the mail path.
        var journald: Bool
        /// Bind mounts; host paths start with a root placeholder (`$ROOT`, `$FILTER`, `$CADDY`).
        var volumes: [Mount]
        /// The guide's ordering section: `After=`/`Requires=`.
        var dependsOn: [String]
        /// The `*_ADDRESS` variable Mailu reads to find it.
        var addressVariable: String?
        var ports: Ports = .none
        /// Gets `--dns=<resolver>` when the resolver runs.
        var usesResolver = true
        var env: [KeyValue] = []
        var labels: [KeyValue] = []
        var memory: String?
        var memoryReservation: String?

        func isEnabled(in components: MailuSettings.Components) -> Bool {
            component?.isOn(in: components) ?? true
        }
    }

    /// Where a service's image comes from.
    enum Image: Sendable {
        /// `<mailu.image_registry>/<name>:<mailu.version>`.
        case mailu(String)
        /// `caddy.image`.
        case caddy
        /// A fixed reference, as the guide writes it.
        case named(String)
    }

    /// What a service publishes on the host.
    enum Ports: Sendable {
        case none
        /// HTTP and HTTPS (with HTTP/3) on every address: Caddy.
        case web
        /// The mail ports on `mailu.public_ipv4`: the front.
        case mail
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

    /// A bind mount. `creates` are the directories to make for it before the container starts:
    /// by default its host path when that is a directory.
    struct Mount: Sendable {
        var host: String
        var container: String
        var readOnly = false
        var creates: [String]?

        var directories: [String] { creates ?? (host.hasSuffix("/") ? [host] : []) }
    }

    /// The guide's containers in the order it runs them.
    static let services: [Service] = [
        Service(
            name: "caddy2", hostNumber: 2, hostname: nil, image: .caddy, readsEnvFile: false, journald: false,
            volumes: [
                Mount(host: "$CADDY/Caddyfile", container: "/etc/caddy/Caddyfile"),
                // The guide makes the site and snippet directories inside the mounted config directory.
                Mount(
                    host: "$CADDY/config/", container: "/config/",
                    creates: ["$CADDY/config/site/", "$CADDY/config/reuse/"]),
                Mount(host: "$CADDY/data/", container: "/data/"),
            ],
            dependsOn: [], ports: .web, usesResolver: false, labels: [KeyValue("io.containers.autoupdate", "registry")],
            memory: "1g", memoryReservation: "256m"),
        Service(
            name: "mailu-resolver", component: .resolver, hostNumber: 34, hostname: "resolver",
            image: .mailu("unbound"),
            readsEnvFile: true, journald: false, volumes: [], dependsOn: [], addressVariable: "RESOLVER_ADDRESS",
            usesResolver: false),
        Service(
            name: "mailu-front", hostNumber: 32, hostname: "front", image: .mailu("nginx"), readsEnvFile: true,
            journald: true,
            volumes: [
                Mount(host: "$ROOT/certs/", container: "/certs/"),
                Mount(host: "$ROOT/overrides/nginx/", container: "/overrides/", readOnly: true),
            ],
            dependsOn: ["mailu-resolver"], addressVariable: "FRONT_ADDRESS", ports: .mail),
        Service(
            name: "mailu-redis", hostNumber: 33, hostname: "redis", image: .named("docker.io/library/redis:alpine"),
            readsEnvFile: false, journald: false, volumes: [Mount(host: "$ROOT/redis/", container: "/data/")],
            dependsOn: ["mailu-resolver"], addressVariable: "REDIS_ADDRESS",
            labels: [KeyValue("io.containers.autoupdate", "registry")]),
        Service(
            name: "mailu-admin", hostNumber: 35, hostname: "admin", image: .mailu("admin"), readsEnvFile: true,
            journald: true,
            volumes: [
                Mount(host: "$ROOT/data/", container: "/data/"), Mount(host: "$ROOT/dkim/", container: "/dkim/"),
            ],
            dependsOn: ["mailu-redis", "mailu-resolver"], addressVariable: "ADMIN_ADDRESS", env: [disclaimer]),
        Service(
            name: "mailu-imap", hostNumber: 36, hostname: "imap", image: .mailu("dovecot"), readsEnvFile: true,
            journald: true,
            volumes: [
                Mount(host: "$ROOT/mail/", container: "/mail/"),
                Mount(host: "$ROOT/overrides/dovecot/", container: "/overrides/", readOnly: true),
            ],
            dependsOn: ["mailu-front", "mailu-resolver"], addressVariable: "IMAP_ADDRESS"),
        Service(
            name: "mailu-smtp", hostNumber: 37, hostname: "smtp", image: .mailu("postfix"), readsEnvFile: true,
            journald: true,
            volumes: [
                Mount(host: "$ROOT/mailqueue/", container: "/queue/"),
                Mount(host: "$ROOT/overrides/postfix/", container: "/overrides/", readOnly: true),
            ],
            dependsOn: ["mailu-front", "mailu-resolver"], addressVariable: "SMTP_ADDRESS"),
        Service(
            name: "mailu-oletools", component: .oletools, hostNumber: 38, hostname: "oletools",
            image: .mailu("oletools"),
            readsEnvFile: false, journald: false, volumes: [], dependsOn: ["mailu-resolver"],
            addressVariable: "OLETOOLS_ADDRESS"),
        Service(
            name: "mailu-antivirus", component: .antivirus, hostNumber: 40, hostname: "antivirus",
            image: .mailu("clamav"),
            readsEnvFile: true, journald: false, volumes: [Mount(host: "$FILTER/", container: "/data/")],
            dependsOn: ["mailu-resolver"], addressVariable: "ANTIVIRUS_ADDRESS"),
        Service(
            name: "mailu-webdav", component: .webdav, hostNumber: 41, hostname: "webdav", image: .mailu("radicale"),
            readsEnvFile: false, journald: false, volumes: [Mount(host: "$ROOT/dav/", container: "/data/")],
            dependsOn: [],
            addressVariable: "WEBDAV_ADDRESS"),
        Service(
            name: "mailu-fetchmail", component: .fetchmail, hostNumber: 42, hostname: "fetchmail",
            image: .mailu("fetchmail"),
            readsEnvFile: true, journald: false, volumes: [Mount(host: "$ROOT/data/fetchmail/", container: "/data/")],
            dependsOn: ["mailu-admin", "mailu-smtp", "mailu-imap", "mailu-resolver"],
            addressVariable: "FETCHMAIL_ADDRESS"),
        Service(
            name: "mailu-webmail", component: .webmail, hostNumber: 43, hostname: "webmail", image: .mailu("webmail"),
            readsEnvFile: true, journald: false,
            volumes: [
                Mount(host: "$ROOT/webmail/", container: "/data/"),
                Mount(host: "$ROOT/overrides/roundcube/", container: "/overrides/", readOnly: true),
            ],
            dependsOn: ["mailu-front"], addressVariable: "WEBMAIL_ADDRESS"),
        Service(
            name: "mailu-antispam", hostNumber: 39, hostname: "antispam", image: .mailu("rspamd"), readsEnvFile: true,
            journald: true,
            volumes: [
                Mount(host: "$FILTER/", container: "/var/lib/rspamd/"),
                Mount(host: "$ROOT/overrides/rspamd/", container: "/overrides/", readOnly: true),
            ],
            dependsOn: ["mailu-front", "mailu-redis", "mailu-oletools", "mailu-antivirus", "mailu-resolver"],
            addressVariable: "ANTISPAM_ADDRESS"),
    ]

    /// The resolver every other service asks, when it runs.
    static let resolver = services.first { $0.component == .resolver }!

    /// The guide's order for the `*_ADDRESS` lines it adds to `mailu.env` (a fact of the file's
    /// layout, not of the services: every variable here is one service's `addressVariable`).
    static let addressOrder = [
        "ADMIN_ADDRESS", "ANTISPAM_ADDRESS", "ANTIVIRUS_ADDRESS", "FRONT_ADDRESS", "IMAP_ADDRESS", "REDIS_ADDRESS",
        "SMTP_ADDRESS", "WEBDAV_ADDRESS", "WEBMAIL_ADDRESS", "RESOLVER_ADDRESS", "OLETOOLS_ADDRESS",
        "FETCHMAIL_ADDRESS",
    ]

    /// Mail ports the front publishes on the public IPv4 address.
    static let mailPorts = [25, 110, 143, 465, 587, 993, 995]

    static let disclaimer = KeyValue(
        "I_KNOW_MY_SETUP_DOESNT_FIT_REQUIREMENTS_AND_WONT_FILE_ISSUES_WITHOUT_PATCHES", "1")
}
