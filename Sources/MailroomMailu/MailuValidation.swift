import MailroomSpec
import MailroomSupport

/// Checks the Mailu settings: names that reach file names, Caddyfiles, units and env lines.
extension MailuSettings {
    func validate(file: String, _ d: inout DiagnosticCollector) {
        let top = SourceLocation(file: file, line: 1, column: 1)
        func at(_ field: String) -> SourceLocation {
            location(of: field, fallback: location(of: "mailu", fallback: top))
        }

        var seen = Set<String>()
        for (index, domain) in domains.enumerated() {
            let field = "domains[\(index)]"
            if !Grammar.isHostname(domain, requireDot: true) {
                d.report(
                    .invalidHostname, at: at(field), field: field, "'\(domain)' is not a valid mail domain",
                    hint: "an RFC 1123 name such as example.com: letters, digits, '-' and dots only")
            } else if !seen.insert(domain).inserted {
                d.report(.duplicateName, at: at(field), field: field, "'\(domain)' is listed twice")
            } else if ("autoconfig." + domain).utf8.count > 253 {
                // Each domain gets the site autoconfig.<domain>, which must be a valid name too.
                d.report(
                    .invalidHostname, at: at(field), field: field,
                    "'\(domain)' is too long: autoconfig.\(domain) passes the 253 characters of a DNS name",
                    hint: "a mail domain of at most 242 characters")
            }
        }
        for (index, host) in hostnames.enumerated() where !Grammar.isHostname(host, requireDot: true) {
            let field = "mailu.hostnames[\(index)]"
            d.report(
                .invalidHostname, at: at(field), field: field, "'\(host)' is not a valid hostname",
                hint: "an RFC 1123 name such as mail.example.com")
        }
        if hostnames.isEmpty {
            d.report(
                .missingField, at: at("mailu.hostnames"), field: "mailu.hostnames",
                "at least one public hostname is needed",
                hint: "the name your MX records point to, e.g. mail.example.com")
        }
        if !publicIPv4.isEmpty, IPAddress(publicIPv4).map({ !$0.isV6 }) != true {
            d.report(
                .invalidValue, at: at("mailu.public_ipv4"), field: "mailu.public_ipv4",
                "'\(publicIPv4)' is not an IPv4 address",
                hint: "the server's public address, not 0.0.0.0")
        }
        if !publicIPv6.isEmpty, IPAddress(publicIPv6)?.isV6 != true {
            d.report(
                .invalidValue, at: at("mailu.public_ipv6"), field: "mailu.public_ipv6",
                "'\(publicIPv6)' is not an IPv6 address",
                hint: "the server's public IPv6 address (its hostnames' AAAA record), or leave it out")
        }
        if publicIPv4 == "0.0.0.0" {
            d.report(
                .invalidValue, at: at("mailu.public_ipv4"), field: "mailu.public_ipv4",
                "0.0.0.0 is not a public address",
                hint: "bind the mail ports to the server's public IPv4, or SPF checks will fail")
        }
        for (field, path) in [("mailu.root", root), ("mailu.filter_dir", filterDir), ("caddy.root", caddy.root)] {
            Validator.checkHostPath(path, at(field), field, &d)
        }
        if !version.unicodeScalars.allSatisfy({ $0.isASCIIAlphanumeric || $0 == "." || $0 == "-" }) || version.isEmpty {
            d.report(
                .invalidValue, at: at("mailu.version"), field: "mailu.version", "'\(version)' is not a Mailu version",
                hint: "e.g. \"2.0\"")
        }
        let emailParts = caddy.email.split(separator: "@", omittingEmptySubsequences: false)
        if !caddy.email.isEmpty,
            emailParts.count != 2 || !Grammar.isHostname(String(emailParts[1]), requireDot: true)
                || emailParts[0].isEmpty
                || emailParts[0].unicodeScalars.contains(where: {
                    !($0.isASCIIAlphanumeric || "._+-".unicodeScalars.contains($0))
                })
        {
            d.report(
                .invalidValue, at: at("caddy.email"), field: "caddy.email", "'\(caddy.email)' is not an e-mail address",
                hint: "the ACME account address, e.g. letsencrypt@example.com")
        }
        for site in caddy.sites {
            if !Grammar.isHostname(site.host, requireDot: true) {
                d.report(
                    .invalidHostname, at: site.location, field: "caddy.sites",
                    "'\(site.host)' is not a valid site name",
                    hint: "an RFC 1123 name such as webmail.example.com")
            }
            if let upstream = site.upstream,
                upstream.contains(where: { " {}\"#".contains($0) }) || upstream.isEmpty
                    || Grammar.controlCharacter(in: upstream) != nil
            {
                d.report(
                    .invalidValue, at: site.location, field: "caddy.sites", "'\(upstream)' is not an upstream address",
                    hint: "e.g. http://10.90.0.32:80")
            }
        }
        if let host = CaddyFiles.websiteHost(self), !Grammar.isHostname(host, requireDot: true) {
            d.report(
                .invalidHostname, at: at("mailu.website"), field: "mailu.website",
                "'\(website)' does not name a valid host",
                hint: "e.g. https://mail.example.com")
        }
        if !Grammar.isLocalPart(postmaster) {
            d.report(
                .invalidValue, at: at("mailu.postmaster"), field: "mailu.postmaster",
                "'\(postmaster)' is not the local part of an address",
                hint: postmaster.contains("@")
                    ? "write only the part before '@': Mailu appends @\(mainDomain) itself" : "e.g. postmaster or admin"
            )
        }
        let limits = [
            ("mailu.rate_limits.auth_per_ip_per_hour", authRateLimitPerIP),
            ("mailu.rate_limits.auth_per_user_per_day", authRateLimitPerUser),
            ("mailu.rate_limits.messages_per_user_per_day", messageRateLimitPerUser),
        ]
        for (field, value) in limits where value < 0 {
            d.report(
                .invalidValue, at: at(field), field: field, "\(value) is negative", hint: "a whole number of at least 0"
            )
        }
        if messageSizeLimit <= 0 {
            d.report(
                .invalidValue, at: at("mailu.message_size_limit"), field: "mailu.message_size_limit",
                "\(messageSizeLimit) is not a message size", hint: "bytes, at least 1; the guide uses 50000000")
        }
        checkImages(at, &d)
        checkSites(at, &d)
        let envFields: [(String, String)] =
            [
                ("mailu.site_name", siteName), ("mailu.website", website), ("mailu.postmaster", postmaster),
                ("mailu.welcome.subject", welcome.subject), ("mailu.welcome.body", welcome.body),
                ("mailu.timezone", timezone),
                ("mailu.logo.url", logoURL), ("mailu.logo.background", logoBackground),
            ] + roundcubePlugins.map { ("mailu.roundcube_plugins", $0) }
        for (field, value) in envFields { Validator.checkEnvValue(value, at(field), field, &d) }
        for entry in extraEnv {
            let field = "mailu.env.\(entry.key)"
            if !SpecLoader.isEnvKey(entry.key) {
                d.report(
                    .invalidEnv, at: at(field), field: field, "'\(entry.key)' is not a valid variable name",
                    hint: "use letters, digits and underscores")
            }
            Validator.checkEnvValue(entry.value, at(field), field, &d)
        }
    }

    /// The images the settings name, checked where they are written: `caddy.image` as is, and
    /// the Mailu images from `mailu.image_registry` and `mailu.version`.
    func checkImages(_ at: (String) -> SourceLocation, _ d: inout DiagnosticCollector) {
        if let problem = ImageReference.problem(caddy.image) {
            let code: SpecDiagnostic.Code = problem.message.hasSuffix("has no tag") ? .imageWithoutTag : .invalidValue
            d.report(code, at: at("caddy.image"), field: "caddy.image", problem.message, hint: problem.hint)
        }
        let sample = "\(imageRegistry.trimmingTrailingSlash)/admin:\(version)"
        if ImageReference.problem(imageRegistry.trimmingTrailingSlash + "/admin:2.0") != nil {
            d.report(
                .invalidValue, at: at("mailu.image_registry"), field: "mailu.image_registry",
                "'\(imageRegistry)' does not make image references ('\(sample)')",
                hint: "a registry and path in lower case, e.g. ghcr.io/mailu")
        } else if ImageReference.problem(sample) != nil {
            d.report(
                .invalidValue, at: at("mailu.version"), field: "mailu.version", "'\(version)' is not an image tag",
                hint: "e.g. \"2.0\"")
        }
    }

    /// Extra Caddy sites: one site per host, and none for the website's host, which has its own.
    func checkSites(_ at: (String) -> SourceLocation, _ d: inout DiagnosticCollector) {
        var hosts: [String: SourceLocation] = [:]
        if let website = CaddyFiles.websiteHost(self) { hosts[website] = at("mailu.website") }
        for site in caddy.sites {
            if let first = hosts[site.host] {
                d.report(
                    .duplicateName, at: site.location, field: "caddy.sites",
                    "'\(site.host)' already has a site (at \(first))",
                    hint: site.host == CaddyFiles.websiteHost(self)
                        ? "the website's host is served from mailu.website; drop this site or change the website"
                        : "list each host once")
            }
            hosts[site.host] = hosts[site.host] ?? site.location
        }
    }

    /// What the settings must agree on with the rest of the spec: the network (IPv6) and the
    /// secrets (never written in the spec).
    func checkAgainst(_ spec: DeploymentSpec, _ d: inout DiagnosticCollector) {
        let top = SourceLocation(file: spec.file, line: 1, column: 1)
        func at(_ field: String) -> SourceLocation {
            location(of: field, fallback: location(of: "mailu", fallback: top))
        }
        if ipv6 && spec.network.subnet6 == nil {
            d.report(
                .invalidValue, at: at("mailu.ipv6"), field: "mailu.ipv6", "Mailu's IPv6 needs an IPv6 network",
                hint: "add network.subnet6 and network.gateway6, or set mailu.ipv6: false")
        }
        // API_TOKEN is a secret even while the API is off.
        let secretKeys = Set(["SECRET_KEY", "API_TOKEN"] + spec.secrets.keys)
        for entry in extraEnv where secretKeys.contains(entry.key) {
            let field = "mailu.env.\(entry.key)"
            d.report(
                .invalidEnv, at: at(field), field: field, "\(entry.key) is a secret; it is never written in the spec",
                hint: "put \(entry.key)=… in the secrets file (--secrets-file) and drop it here")
        }
    }

    /// Secret keys the profile reads from the host's secrets file.
    public var requiredSecrets: [String] {
        (components.api ? ["SECRET_KEY", "API_TOKEN"] : ["SECRET_KEY"]) + mail.secretKeys
    }
}
