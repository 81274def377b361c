import Testing

@testable import MailroomSpec
@testable import MailroomSupport
@testable import MailroomTestSupport

extension PureTests {
    /// A corpus of broken specs an operator could plausibly write: each is refused with exactly
    /// one problem, under the name the user wrote, at the line of the offending key or item.
    @Suite("Broken specs", .tags(.pure))
    struct BrokenSpecTests {
        struct Case: CustomTestStringConvertible, Sendable {
            var name: String
            var spec: String
            var field: String
            /// The text on the line the problem must point at.
            var at: String
            var message: String
            var testDescription: String { name }
        }

        /// `TestSpecs.minimal` with a container added under `containers:`.
        static func container(_ body: String) -> String {
            TestSpecs.minimal + "containers:\n  backup:\n    image: localhost/backup:1\n" + body
        }

        /// `TestSpecs.minimal` with lines added under `mailu:`.
        static func mailu(_ lines: String) -> String {
            TestSpecs.minimal.replacingOccurrences(of: "mailu:\n", with: "mailu:\n" + lines)
        }

        static let cases: [Case] = [
            Case(
                name: "an image with a newline (unit injection)",
                spec: TestSpecs.minimal
                    + "containers:\n  backup:\n    image: \"localhost/backup:1\\nExecStartPre=/bin/true\"\n",
                field: "containers.backup.image", at: "ExecStartPre", message: "contains a newline"),
            Case(
                name: "an image as a block scalar with its trailing newline",
                spec: TestSpecs.minimal + "containers:\n  backup:\n    image: |\n      localhost/backup:1\n",
                field: "containers.backup.image", at: "image: |", message: "contains a newline"),
            Case(
                name: "upper case in the repository",
                spec: TestSpecs.minimal + "containers:\n  backup:\n    image: localhost/Backup:1\n",
                field: "containers.backup.image", at: "localhost/Backup", message: "'Backup' has upper case"),
            Case(
                name: "whitespace in an image",
                spec: TestSpecs.minimal + "containers:\n  backup:\n    image: \"localhost/back up:1\"\n",
                field: "containers.backup.image", at: "back up", message: "contains whitespace"),
            Case(
                name: "an empty label name", spec: container("    labels: {\"\": x}\n"),
                field: "containers.backup.labels.", at: "labels:", message: "is not a label name"),
            Case(
                name: "memory that is not a size", spec: container("    memory: lots\n"),
                field: "containers.backup.memory", at: "memory: lots", message: "'lots' is not a size"),
            Case(
                name: "a reservation above the limit", spec: container("    memory: 64m\n    memory_reservation: 1g\n"),
                field: "containers.backup.memory_reservation", at: "memory_reservation",
                message: "above the memory limit"),
            Case(
                name: "negative cpu_shares", spec: container("    cpu_shares: -5\n"),
                field: "containers.backup.cpu_shares", at: "cpu_shares", message: "'-5' is negative"),
            Case(
                name: "an unknown restart policy", spec: container("    restart: sometimes\n"),
                field: "containers.backup.restart", at: "restart:", message: "unknown restart policy 'sometimes'"),
            Case(
                name: "an unknown log driver", spec: container("    log_driver: syslog\n"),
                field: "containers.backup.log_driver", at: "log_driver", message: "unknown log driver 'syslog'"),
            Case(
                name: "a health-check interval that is not a duration",
                spec: container("    healthcheck: {command: \"true\", interval: 30 seconds}\n"),
                field: "containers.backup.healthcheck.interval", at: "healthcheck:",
                message: "'30 seconds' is not a duration"),
            Case(
                name: "a dns server that is not an address", spec: container("    dns: [resolver]\n"),
                field: "containers.backup.dns", at: "dns:", message: "'resolver' is not an IP address"),
            Case(
                name: "postmaster as a whole address", spec: mailu("  postmaster: admin@example.org\n"),
                field: "mailu.postmaster", at: "postmaster:", message: "is not the local part"),
            Case(
                name: "postmaster with a space", spec: mailu("  postmaster: post master\n"),
                field: "mailu.postmaster", at: "postmaster:", message: "is not the local part"),
            Case(
                name: "a negative rate limit", spec: mailu("  rate_limits: {auth_per_ip_per_hour: -1}\n"),
                field: "mailu.rate_limits.auth_per_ip_per_hour", at: "rate_limits", message: "-1 is negative"),
            Case(
                name: "a rate limit that is not a number", spec: mailu("  rate_limits: {auth_per_ip_per_hour: many}\n"),
                field: "mailu.rate_limits.auth_per_ip_per_hour", at: "rate_limits",
                message: "expected a whole number, found 'many'"),
            Case(
                name: "a negative message size", spec: mailu("  message_size_limit: -1\n"),
                field: "mailu.message_size_limit", at: "message_size_limit", message: "is not a message size"),
            Case(
                name: "Mailu's IPv6 on a network without IPv6", spec: mailu("  ipv6: true\n"),
                field: "mailu.ipv6", at: "ipv6: true", message: "needs an IPv6 network"),
            Case(
                name: "a Caddy site for the website's host",
                spec: mailu("  website: https://mail.example.org\n")
                    + "  sites: [{host: mail.example.org, upstream: \"http://10.90.0.43:80\"}]\n",
                field: "caddy.sites", at: "sites:", message: "'mail.example.org' already has a site"),
            Case(
                name: "SECRET_KEY under mailu.env", spec: mailu("  env: {SECRET_KEY: plain}\n"),
                field: "mailu.env.SECRET_KEY", at: "env: {SECRET_KEY", message: "is a secret"),
            Case(
                name: "a secrets key also set under mailu.env",
                spec: mailu("  env: {RELAYPASSWORD: plain}\n") + "secrets:\n  keys: [RELAYPASSWORD]\n",
                field: "mailu.env.RELAYPASSWORD", at: "env: {RELAYPASSWORD", message: "is a secret"),
            Case(
                name: "a domain whose autoconfig name passes 253 characters",
                spec: TestSpecs.minimal.replacingOccurrences(
                    of: "domains: [example.org]",
                    with:
                        "domains: [\(String(repeating: "a", count: 60)).\(String(repeating: "b", count: 60)).\(String(repeating: "c", count: 60)).\(String(repeating: "d", count: 57)).org]"
                ),
                field: "domains[0]", at: "domains:", message: "is too long"),
            Case(
                name: "a misspelt profile container",
                spec: TestSpecs.minimal + "containers:\n  mailu-smpt:\n    env: {A: \"1\"}\n",
                field: "containers.mailu-smpt", at: "mailu-smpt:", message: "is not a container of the profile"),
            Case(
                name: "caddy.image without a tag",
                spec: TestSpecs.minimal + "  image: docker.io/library/caddy\n",
                field: "caddy.image", at: "image: docker.io/library/caddy", message: "has no tag"),
            Case(
                name: "empty mailu.hostnames",
                spec: TestSpecs.minimal.replacingOccurrences(
                    of: "hostnames: [mail.example.org]", with: "hostnames: []"),
                field: "mailu.hostnames", at: "hostnames: []", message: "at least one public hostname"),
            Case(
                name: "a list left open is reported where it opens, not where the parser noticed",
                spec: TestSpecs.minimal.replacingOccurrences(
                    of: "domains: [example.org]", with: "domains: [example.org"),
                field: "(document)", at: "domains: [example.org", message: "a '[' list that opens here is not closed"),
            Case(
                name: "a mapping left open",
                spec: TestSpecs.minimal + "containers: {backup: {image: localhost/backup:1}\n",
                field: "(document)", at: "containers: {", message: "a '{' mapping that opens here is not closed"),
            Case(
                name: "a list left open mid-file is reported at its line, not where the next key starts",
                spec: TestSpecs.minimal.replacingOccurrences(
                    of: "hostnames: [mail.example.org]", with: "hostnames: [mail.example.org, mx.example.org"),
                field: "(document)", at: "hostnames: [mail.example.org, mx",
                message: "a '[' list that opens here is not closed"),
            Case(
                name: "a list nested in a mapping, both left open",
                spec: TestSpecs.minimal + "containers: {backup: {image: localhost/backup:1, depends_on: [mailu-admin\n",
                field: "(document)", at: "containers: {", message: "that opens here is not closed"),
            Case(
                name: "a double-quoted string left open is reported where it opens, not at the end of the file",
                spec: TestSpecs.minimal.replacingOccurrences(
                    of: "domains: [example.org]", with: "domains: [\"example.org]"),
                field: "(document)", at: "domains: [\"example.org", message: "that opens here is not closed"),
            Case(
                name: "a single-quoted string left open",
                spec: TestSpecs.minimal + "containers:\n  backup:\n    image: 'localhost/backup:1\n    memory: 1g\n",
                field: "(document)", at: "image: 'localhost", message: "a quoted string that opens here is not closed"),
            Case(
                name: "a control character in a Roundcube plugin name",
                spec: mailu("  roundcube_plugins: [\"archive\\x10\"]\n"),
                field: "mailu.roundcube_plugins", at: "roundcube_plugins", message: "a control character (U+0010)"),
            Case(
                name: "a tab in a label (control characters are refused everywhere)",
                spec: container("    labels: {note: \"tab\\there\"}\n"),
                field: "containers.backup.labels.note", at: "labels:", message: "contains a tab"),
            Case(
                name: "a public_ipv4 that is not an address",
                spec: TestSpecs.minimal.replacingOccurrences(of: "203.0.113.10", with: "203.0.113"),
                field: "mailu.public_ipv4", at: "public_ipv4", message: "is not an IPv4 address"),
        ]

        @Test("each broken spec is refused with one problem, where it was written", arguments: cases)
        func refusedOnce(_ c: Case) throws {
            let problems = Fixtures.diagnostics(c.spec)
            try #require(problems.count == 1, "\(problems.map(\.description))")
            let problem = problems[0]
            #expect(problem.field == c.field)
            #expect(problem.message.contains(c.message), "\(problem.description)")
            let lines = c.spec.split(separator: "\n", omittingEmptySubsequences: false)
            let line = try #require(lines.firstIndex { $0.contains(c.at) }) + 1
            #expect(problem.location.line == line, "\(problem.description)")
        }

        static let valid: [(String, String)] = [
            (
                "punycode domains",
                TestSpecs.minimal.replacingOccurrences(
                    of: "[example.org]", with: "[xn--bcher-kva.example, example.org]")
            ),
            (
                "an IPv6 container address inside subnet6",
                TestSpecs.minimal.replacingOccurrences(
                    of: "  gateway: 10.90.0.1\n",
                    with: "  gateway: 10.90.0.1\n  subnet6: fd00::1:8:0/112\n  gateway6: fd00::1:8:1\n")
                    + "containers:\n  backup:\n    image: localhost/backup:1\n    ip6: fd00::1:8:99\n"
            ),
            (
                "an extra container that depends on profile containers",
                TestSpecs.minimal
                    + "containers:\n  backup:\n    image: localhost/backup@sha256:\(String(repeating: "ab", count: 32))\n"
                    + "    depends_on: [mailu-admin, mailu-imap]\n    memory: 1.5GiB\n    memory_reservation: 512m\n"
                    + "    restart: on-failure:3\n    healthcheck: {command: \"true\", interval: 1m30s, timeout: 500ms}\n"
            ),
            (
                "a domain at the DNS limit",
                TestSpecs.minimal.replacingOccurrences(
                    of: "domains: [example.org]",
                    with:
                        "domains: [\(String(repeating: "a", count: 60)).\(String(repeating: "b", count: 60)).\(String(repeating: "c", count: 60)).\(String(repeating: "d", count: 57)).org, example.org]"
                )
                .replacingOccurrences(
                    of: "[\(String(repeating: "a", count: 60))", with: "[\(String(repeating: "a", count: 49))")
            ),
        ]

        @Test("unusual but valid specs stay accepted", arguments: valid.map(\.0))
        func acceptedUnusual(_ name: String) throws {
            let spec = try #require(Self.valid.first { $0.0 == name }?.1)
            #expect(Fixtures.diagnostics(spec).map(\.description) == [])
        }
    }
}
