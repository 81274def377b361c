import MailroomSpec
import MailroomSupport


/// Checks the Mailu settings: names that reach file names, Caddyfiles, units and env lines.
extension MailuSettings {
    func validate(file: String, _ d: inout DiagnosticCollector) {
        let top = SourceLocation(file: file, line: 1, column: 1)
        func at(_ field: String) -> SourceLocation { location(of: field, fallback: location(of: "mailu", fallback: top)) }

        var seen = Set<String>()
        for (index, domain) in domains.enumerated() {
            let field = "domains[\(index)]"
            if !Validator.isHostname(domain, requireDot: true) {
                d.report(.invalidHostname, at: at(field), field: field, "'\(domain)' is not a valid mail domain",
                         hint: "an RFC 1123 name such as example.com: letters, digits, '-' and dots only")
            } else if !seen.insert(domain).inserted {
                d.report(.duplicateName, at: at(field), field: field, "'\(domain)' is listed twice")
            }
        }
        for (index, host) in hostnames.enumerated() where !Validator.isHostname(host, requireDot: true) {
            let field = "mailu.hostnames[\(index)]"
            d.report(.invalidHostname, at: at(field), field: field, "'\(host)' is not a valid hostname",
                     hint: "an RFC 1123 name such as mail.example.com")
        }
        if hostnames.isEmpty {
            d.report(.missingField, at: at("mailu"), field: "mailu.hostnames", "at least one public hostname is needed",
                     hint: "the name your MX records point to, e.g. mail.example.com")
        }
        if !publicIPv4.isEmpty, IPAddress(publicIPv4).map({ !$0.isV6 }) != true {
            d.report(.invalidValue, at: at("mailu.public_ipv4"), field: "mailu.public_ipv4", "'\(publicIPv4)' is not an IPv4 address",
                     hint: "the server's public address, not 0.0.0.0")
        }
        if publicIPv4 == "0.0.0.0" {
            d.report(.invalidValue, at: at("mailu.public_ipv4"), field: "mailu.public_ipv4", "0.0.0.0 is not a public address",
                     hint: "bind the mail ports to the server's public IPv4, or SPF checks will fail")
        }
        for (field, path) in [("mailu.root", root), ("mailu.filter_dir", filterDir), ("caddy.root", caddy.root)] {
            Validator.checkHostPath(path, at(field), field, &d)
        }
        if !version.unicodeScalars.allSatisfy({ $0.isASCIIAlphanumeric || $0 == "." || $0 == "-" }) || version.isEmpty {
            d.report(.invalidValue, at: at("mailu.version"), field: "mailu.version", "'\(version)' is not a Mailu version", hint: "e.g. \"2.0\"")
        }
        let emailParts = caddy.email.split(separator: "@", omittingEmptySubsequences: false)
        if !caddy.email.isEmpty, emailParts.count != 2 || !Validator.isHostname(String(emailParts[1]), requireDot: true)
            || emailParts[0].isEmpty || emailParts[0].unicodeScalars.contains(where: { !($0.isASCIIAlphanumeric || "._+-".unicodeScalars.contains($0)) })
        {
            d.report(.invalidValue, at: at("caddy.email"), field: "caddy.email", "'\(caddy.email)' is not an e-mail address",
                     hint: "the ACME account address, e.g. letsencrypt@example.com")
        }
        for site in caddy.sites {
            if !Validator.isHostname(site.host, requireDot: true) {
                d.report(.invalidHostname, at: site.location, field: "caddy.sites", "'\(site.host)' is not a valid site name",
                         hint: "an RFC 1123 name such as webmail.example.com")
            }
            if let upstream = site.upstream, upstream.contains(where: { " \t\n\r{}\"#".contains($0) }) || upstream.isEmpty {
                d.report(.invalidValue, at: site.location, field: "caddy.sites", "'\(upstream)' is not an upstream address",
                         hint: "e.g. http://10.90.0.32:80")
            }
        }
        if let host = CaddyFiles.websiteHost(self), !Validator.isHostname(host, requireDot: true) {
            d.report(.invalidHostname, at: at("mailu.website"), field: "mailu.website", "'\(website)' does not name a valid host",
                     hint: "e.g. https://mail.example.com")
        }
        let envFields: [(String, String)] = [
            ("mailu.site_name", siteName), ("mailu.website", website), ("mailu.postmaster", postmaster),
            ("mailu.welcome.subject", welcome.subject), ("mailu.welcome.body", welcome.body), ("mailu.timezone", timezone),
            ("mailu.logo.url", logoURL), ("mailu.logo.background", logoBackground),
        ]
        for (field, value) in envFields { Validator.checkEnvValue(value, at(field), field, &d) }
        for entry in extraEnv {
            let field = "mailu.env.\(entry.key)"
            if !SpecLoader.isEnvKey(entry.key) {
                d.report(.invalidEnv, at: at(field), field: field, "'\(entry.key)' is not a valid variable name", hint: "use letters, digits and underscores")
            }
            Validator.checkEnvValue(entry.value, at(field), field, &d)
        }
    }

    /// Secret keys the profile reads from the host's secrets file.
    public var requiredSecrets: [String] { components.api ? ["SECRET_KEY", "API_TOKEN"] : ["SECRET_KEY"] }
}
