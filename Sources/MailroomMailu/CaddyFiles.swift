import Crypto
import MailroomSpec
import MailroomSupport

/// Caddy's configuration as the guide lays it out: a main Caddyfile importing one file per
/// site, the website's site, one `autoconfig.<domain>` site per mail domain, and the reusable
/// snippets the guide takes from an outside project (written here, so the config is self-contained).
enum CaddyFiles {
    /// `<host>.Caddyfile`; a host so long (a valid DNS name has up to 253 characters) that the
    /// name would pass the 255 bytes of a file name is named by its hash instead
    /// (`site-<sha256 prefix>.Caddyfile`). The site's address inside the file is the host either way.
    static func siteFileName(_ host: String) -> String {
        let name = "\(host).Caddyfile"
        guard name.utf8.count > 255 else { return name }
        return "site-\(hex(SHA256.hash(data: Array(host.utf8))).prefix(32)).Caddyfile"
    }

    static let reloadCommand = ["caddy", "reload", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
    static let autoconfigRefusal =
        "This domain is only used for Autoconfiguration by Mozilla Thunderbrid and email clients that are compatible with its specifications."

    static func render(settings s: MailuSettings, frontAddress: String, paths: MailuProfile.Paths, container: String)
        -> [FileDefinition]
    {
        let reload = FileDefinition.Reload(container: container, command: reloadCommand)
        let tls = s.caddy.tls == "internal" ? "tls internal" : "tls \(s.caddy.email)"
        let front = "http://\(frontAddress):80"

        var global = ["{", "\temail \(s.caddy.email)"]
        if s.caddy.tls == "internal" { global += ["\tlocal_certs", "\tskip_install_trust"] }
        global += ["}", "", "import /config/site/*.Caddyfile", ""]
        var files = [FileDefinition(path: paths.caddyfile, content: global.joined(separator: "\n"))]

        func site(_ host: String, upstream: String, extra: [String] = []) -> FileDefinition {
            var lines = [
                "\(host) {", "\t\(tls)", "", "\timport /config/reuse/encode.Caddyfile",
                "\timport /config/reuse/header.secure-portal.Caddyfile", "", "\treverse_proxy \(upstream) {",
                "\t\timport /config/reuse/header_up.follow.Caddyfile", "\t}",
            ]
            lines += extra
            lines += ["}", ""]
            return FileDefinition(
                path: "\(paths.caddySites)/\(siteFileName(host))", content: lines.joined(separator: "\n"),
                reload: reload)
        }

        var hosts = Set<String>()
        if let website = websiteHost(s) {
            files.append(site(website, upstream: front))
            hosts.insert(website)
        }
        // A backup MX serves no mail clients: the autoconfig sites stay with the primary.
        for domain in s.domains where s.relayTarget == nil && hosts.insert("autoconfig.\(domain)").inserted {
            files.append(
                site(
                    "autoconfig.\(domain)", upstream: front,
                    extra: [
                        "", "\t@matchpath {", "\t\tnot path /mail/config-v1.1.xml*", "\t}", "\thandle @matchpath {",
                        "\t\trespond \"\(autoconfigRefusal)\" 403", "\t}",
                    ]))
        }
        if let policy = MailuDNS.mtaSTSPolicy(s) {
            for domain in s.domains where hosts.insert("mta-sts.\(domain)").inserted {
                // The policy as one quoted Caddyfile string: it may span lines and holds no quote.
                let lines = [
                    "mta-sts.\(domain) {", "\t\(tls)", "", "\thandle /.well-known/mta-sts.txt {",
                    "\t\theader Content-Type \"text/plain; charset=utf-8\"", "\t\trespond \"\(policy)\" 200", "\t}",
                    "\thandle {", "\t\trespond 404", "\t}", "}", "",
                ]
                files.append(
                    FileDefinition(
                        path: "\(paths.caddySites)/\(siteFileName("mta-sts.\(domain)"))",
                        content: lines.joined(separator: "\n"), reload: reload))
            }
        }
        for extra in s.caddy.sites where hosts.insert(extra.host).inserted {
            files.append(site(extra.host, upstream: extra.upstream ?? front))
        }

        let snippets: [(String, [String])] = [
            ("encode.Caddyfile", ["# Compress responses.", "encode zstd gzip"]),
            (
                "header.secure-portal.Caddyfile",
                [
                    "# Security headers for a login portal.", "header {",
                    "\tStrict-Transport-Security \"max-age=31536000; includeSubDomains\"",
                    "\tX-Content-Type-Options \"nosniff\"",
                    "\tX-Frame-Options \"SAMEORIGIN\"", "\tReferrer-Policy \"strict-origin-when-cross-origin\"",
                    "\t-Server", "}",
                ]
            ),
            (
                "header_up.follow.Caddyfile",
                [
                    "# Pass the client's address on: Mailu reads REAL_IP_HEADER=X-Real-IP.",
                    "header_up X-Real-IP {remote_host}", "header_up X-Forwarded-Proto {scheme}",
                ]
            ),
        ]
        for (name, lines) in snippets {
            files.append(
                FileDefinition(
                    path: "\(paths.caddyReuse)/\(name)", content: (lines + [""]).joined(separator: "\n"), reload: reload
                ))
        }
        return files
    }

    /// The host of `website` (`https://mail.example.com` → `mail.example.com`), else the first hostname.
    static func websiteHost(_ s: MailuSettings) -> String? {
        var text = s.website
        if let scheme = text.range(of: "://") { text = String(text[scheme.upperBound...]) }
        let host = text.split(separator: "/", maxSplits: 1).first.map(String.init)?.split(separator: ":").first.map(
            String.init)
        if let host, !host.isEmpty { return host.lowercased() }
        return s.hostnames.first
    }
}
