import MailroomSpec
import MailroomSupport

/// The `mailu`, `domains` and `caddy` sections of a spec: the answers to Mailu's setup
/// wizard plus what the Podman guide adds. Every default is the guide's.
public struct MailuSettings: Sendable, Equatable, Codable {
    public var version = "2.0"
    public var imageRegistry = "ghcr.io/mailu"
    public var root = "/podmandirectory/mailu"
    public var filterDir = "/unbackupdirectory/mailu/filter"
    public var domains: [String] = []
    public var postmaster = "postmaster"
    public var hostnames: [String] = []
    public var publicIPv4 = ""
    /// Optional: the AAAA record of the hostnames and the IPv6 PTR (`mailroom dns`).
    public var publicIPv6 = ""
    public var tlsFlavor = "mail-letsencrypt"
    public var authRateLimitPerIP = 5
    public var authRateLimitPerUser = 50
    public var messageRateLimitPerUser = 200
    public var statistics = false
    public var siteName = "Mailu"
    public var website = ""
    public var components = Components()
    public var webmailType = "roundcube"
    public var ipv6 = false
    public var messageSizeLimit = 50_000_000
    public var welcome = Welcome()
    public var timezone = "Asia/Shanghai"
    public var session = Session()
    public var roundcubePlugins = [
        "archive", "carddav", "emoticons", "enigma", "mailu", "managesieve", "markasjunk", "newmail_notifier",
        "zipdownload",
    ]
    public var logoURL = ""
    public var logoBackground = ""
    public var extraEnv: [KeyValue] = []
    /// MTA-STS (RFC 8461) and TLS reporting (RFC 8460); nil: off.
    public var mtaSTS: MTASTS?
    public var caddy = Caddy()
    /// Mailu's own objects: the first admin, domain settings, users, aliases, relays.
    public var mail = MailSettings()
    /// Set on a backup MX's settings only: the primary's hostname, where it relays every domain.
    /// Receiving only: port 25, no local domains, no DKIM keys, no autoconfig sites.
    public var relayTarget: String?
    /// The deployment's backup MX hosts, set by expansion: senders may deliver to them too.
    public var backupMX: [HostSpec] = []
    /// Where each field was written, by dotted path, for diagnostics.
    public var locations: [String: SourceLocation] = [:]

    public init() {}

    public var mainDomain: String { domains.first ?? "" }

    public struct Components: Sendable, Equatable, Codable {
        public var admin = true
        public var api = false
        public var webmail = true
        public var antivirus = true
        public var webdav = true
        public var fetchmail = true
        public var oletools = true
        public var resolver = true
        public init() {}
    }

    /// `mailu.mta_sts`: an `mta-sts.<domain>` Caddy site serving the policy, and its DNS records.
    public struct MTASTS: Sendable, Equatable, Codable {
        /// `testing` (report only), `enforce`, or `none` (withdraw a policy).
        public var mode = "testing"
        /// Seconds senders cache the policy; RFC 8461 allows up to 31557600 (a year).
        public var maxAge = 604_800
        public init() {}
    }

    public struct Welcome: Sendable, Equatable, Codable {
        public var enabled = false
        public var subject = "Welcome to your new email account"
        public var body = "Welcome to your new email account, if you can read this, then it is configured properly!"
        public init() {}
    }

    public struct Session: Sendable, Equatable, Codable {
        public var cookieSecure = true
        public var timeout = 108_000
        public var permanentLifetime = 31_536_000
        public init() {}
    }

    public struct Caddy: Sendable, Equatable, Codable {
        public var email = ""
        public var image = "docker.io/library/caddy:2-alpine"
        public var root = "/podmandirectory/caddy2"
        /// `acme` (the guide: `tls EMAIL`) or `internal` (Caddy's local CA, for staging and tests).
        public var tls = "acme"
        public var sites: [Site] = []
        public init() {}
    }

    /// An extra Caddy site; by default it reverse-proxies to Mailu's front.
    public struct Site: Sendable, Equatable, Codable {
        public var host: String
        public var upstream: String?
        public var location: SourceLocation
    }

    func location(of field: String, fallback: SourceLocation) -> SourceLocation {
        locations[field] ?? fallback
    }
}

extension MailuSettings {
    static let keys = [
        "version", "image_registry", "root", "filter_dir", "domain", "postmaster", "hostnames", "public_ipv4",
        "public_ipv6", "mta_sts",
        "tls_flavor", "rate_limits", "statistics", "site_name", "website", "components", "webmail_type", "ipv6",
        "message_size_limit", "welcome", "timezone", "session", "roundcube_plugins", "logo", "env",
    ]

    /// Reads the `mailu`, `domains` and `caddy` sections.
    static func read(
        mailu: SpecNode?, domains: SpecNode?, caddy: SpecNode?, top: MappingReader, _ d: inout DiagnosticCollector
    ) -> MailuSettings {
        var s = MailuSettings()
        func note(_ node: SpecNode) { s.locations[node.path] = node.location }

        if let domains, let list = domains.stringList(&d) {
            note(domains)
            s.domains = list.map { value, node in
                s.locations[node.path] = node.location
                return value.lowercased()
            }
            if list.isEmpty {
                d.report(
                    .invalidValue, at: domains.location, field: "domains", "at least one mail domain is needed",
                    hint: "list the main domain first")
            }
        } else if domains == nil {
            _ = top.required("domains", &d, hint: "list the mail domains served, the main one first")
        }

        if let mailu, let m = mailu.mapping(allowed: keys, &d) {
            note(mailu)
            if let n = m["version"], let v = n.string(&d) {
                s.version = v
                note(n)
            }
            if let n = m["image_registry"], let v = n.string(&d) {
                s.imageRegistry = v
                note(n)
            }
            if let n = m["root"], let v = n.string(&d) {
                s.root = v
                note(n)
            }
            if let n = m["filter_dir"], let v = n.string(&d) {
                s.filterDir = v
                note(n)
            }
            if let n = m["domain"], let v = n.string(&d) {
                note(n)
                if !s.domains.isEmpty, v.lowercased() != s.mainDomain {
                    d.report(
                        .invalidValue, at: n.location, field: n.path,
                        "'\(v)' is not the first entry of 'domains' ('\(s.mainDomain)')",
                        hint: "the main domain is the first of 'domains'; remove 'mailu.domain' or reorder 'domains'")
                }
            }
            if let n = m["postmaster"], let v = n.string(&d) {
                s.postmaster = v
                note(n)
            }
            if let n = m["hostnames"], let list = n.stringList(&d) {
                note(n)
                s.hostnames = list.map { value, node in
                    s.locations[node.path] = node.location
                    return value.lowercased()
                }
            }
            if let n = m.required("public_ipv4", &d, hint: "the public IPv4 address the mail ports are published on"),
                let v = n.string(&d)
            {
                s.publicIPv4 = v
                note(n)
            }
            if let n = m["public_ipv6"], let v = n.string(&d) {
                s.publicIPv6 = v
                note(n)
            }
            if let n = m["mta_sts"], let w = n.mapping(allowed: ["mode", "max_age"], &d) {
                note(n)
                var policy = MTASTS()
                if let n = w["mode"], let v = n.string(&d) {
                    if ["testing", "enforce", "none"].contains(v) {
                        policy.mode = v
                    } else {
                        d.report(
                            .invalidValue, at: n.location, field: n.path, "unknown MTA-STS mode '\(v)'",
                            hint: "testing (start here), enforce, or none (to withdraw a policy)")
                    }
                }
                if let n = w["max_age"], let v = n.int(&d) {
                    if (1...31_557_600).contains(v) {
                        policy.maxAge = v
                    } else {
                        d.report(
                            .invalidValue, at: n.location, field: n.path, "max_age \(v) is out of range",
                            hint: "seconds from 1 to 31557600 (RFC 8461); 604800 is a week")
                    }
                }
                s.mtaSTS = policy
            }
            if let n = m["tls_flavor"], let v = n.string(&d) {
                note(n)
                let flavors = ["letsencrypt", "cert", "notls", "mail", "mail-letsencrypt"]
                if flavors.contains(v) {
                    s.tlsFlavor = v
                } else {
                    d.report(
                        .invalidValue, at: n.location, field: n.path, "unknown TLS flavor '\(v)'",
                        hint: "one of \(flavors.joined(separator: ", "))")
                }
            }
            if let n = m["rate_limits"],
                let r = n.mapping(
                    allowed: ["auth_per_ip_per_hour", "auth_per_user_per_day", "messages_per_user_per_day"], &d)
            {
                if let n = r["auth_per_ip_per_hour"], let v = n.int(&d) {
                    s.authRateLimitPerIP = v
                    note(n)
                }
                if let n = r["auth_per_user_per_day"], let v = n.int(&d) {
                    s.authRateLimitPerUser = v
                    note(n)
                }
                if let n = r["messages_per_user_per_day"], let v = n.int(&d) {
                    s.messageRateLimitPerUser = v
                    note(n)
                }
            }
            if let v = m["statistics"]?.bool(&d) { s.statistics = v }
            if let n = m["site_name"], let v = n.string(&d) {
                s.siteName = v
                note(n)
            }
            if let n = m["website"], let v = n.string(&d) {
                s.website = v
                note(n)
            }
            if let n = m["components"],
                let c = n.mapping(
                    allowed: ["admin", "api", "webmail", "antivirus", "webdav", "fetchmail", "oletools", "resolver"], &d
                )
            {
                if let v = c["admin"]?.bool(&d) { s.components.admin = v }
                if let v = c["api"]?.bool(&d) { s.components.api = v }
                if let v = c["webmail"]?.bool(&d) { s.components.webmail = v }
                if let v = c["antivirus"]?.bool(&d) { s.components.antivirus = v }
                if let v = c["webdav"]?.bool(&d) { s.components.webdav = v }
                if let v = c["fetchmail"]?.bool(&d) { s.components.fetchmail = v }
                if let v = c["oletools"]?.bool(&d) { s.components.oletools = v }
                if let v = c["resolver"]?.bool(&d) { s.components.resolver = v }
            }
            if let n = m["webmail_type"], let v = n.string(&d) {
                if ["roundcube", "snappymail"].contains(v) {
                    s.webmailType = v
                } else {
                    d.report(
                        .invalidValue, at: n.location, field: n.path, "unknown webmail '\(v)'",
                        hint: "roundcube or snappymail; turn webmail off with components.webmail: false")
                }
            }
            if let n = m["ipv6"], let v = n.bool(&d) {
                s.ipv6 = v
                note(n)
            }
            if let n = m["message_size_limit"], let v = n.int(&d) {
                s.messageSizeLimit = v
                note(n)
            }
            if let n = m["welcome"], let w = n.mapping(allowed: ["enabled", "subject", "body"], &d) {
                if let v = w["enabled"]?.bool(&d) { s.welcome.enabled = v }
                if let n = w["subject"], let v = n.string(&d) {
                    s.welcome.subject = v
                    note(n)
                }
                if let n = w["body"], let v = n.string(&d) {
                    s.welcome.body = v
                    note(n)
                }
            }
            if let n = m["timezone"], let v = n.string(&d) {
                s.timezone = v
                note(n)
            }
            if let n = m["session"], let w = n.mapping(allowed: ["cookie_secure", "timeout", "permanent_lifetime"], &d)
            {
                if let v = w["cookie_secure"]?.bool(&d) { s.session.cookieSecure = v }
                if let v = w["timeout"]?.int(&d) { s.session.timeout = v }
                if let v = w["permanent_lifetime"]?.int(&d) { s.session.permanentLifetime = v }
            }
            if let n = m["roundcube_plugins"], let list = n.stringList(&d) {
                s.roundcubePlugins = list.map(\.0)
                note(n)
            }
            if let n = m["logo"], let w = n.mapping(allowed: ["url", "background"], &d) {
                if let n = w["url"] {
                    s.logoURL = n.isNull ? "" : n.string(&d) ?? ""
                    note(n)
                }
                if let n = w["background"] {
                    s.logoBackground = n.isNull ? "" : n.string(&d) ?? ""
                    note(n)
                }
            }
            if let n = m["env"], let map = n.stringMap(&d) {
                s.extraEnv = map.map { entry in
                    s.locations[entry.node.path] = entry.node.location
                    return KeyValue(entry.key, entry.value)
                }
            }
        } else if mailu == nil {
            _ = top.required("mailu", &d, hint: "the Mailu settings; see examples/seed-guide/mailroom.yaml")
        }

        if let caddy, let c = caddy.mapping(allowed: ["email", "image", "root", "tls", "sites"], &d) {
            note(caddy)
            if let n = c.required("email", &d, hint: "the ACME account e-mail"), let v = n.string(&d) {
                s.caddy.email = v
                note(n)
            }
            if let n = c["image"], let v = n.string(&d) {
                s.caddy.image = v
                note(n)
            }
            if let n = c["root"], let v = n.string(&d) {
                s.caddy.root = v
                note(n)
            }
            if let n = c["tls"], let v = n.string(&d) {
                if ["acme", "internal"].contains(v) {
                    s.caddy.tls = v
                } else {
                    d.report(
                        .invalidValue, at: n.location, field: n.path, "unknown TLS mode '\(v)'",
                        hint: "acme or internal")
                }
            }
            if let n = c["sites"], let items = n.list(&d) {
                for item in items {
                    guard let site = item.mapping(allowed: ["host", "upstream"], &d) else { continue }
                    guard let hostNode = site.required("host", &d), let host = hostNode.string(&d) else { continue }
                    s.caddy.sites.append(
                        Site(
                            host: host.lowercased(), upstream: site["upstream"]?.string(&d), location: hostNode.location
                        ))
                }
            }
        } else if caddy == nil {
            _ = top.required("caddy", &d, hint: "at least caddy.email, the ACME account e-mail")
        }
        return s
    }
}
