/// The verdict of one live check: a DNS record (`mailroom dns --check`) or a host fact
/// (`mailroom doctor`). The agent runs both periodically and shows the results on `/status`
/// and as one Prometheus gauge per check.
package struct LiveCheckResult: Sendable, Equatable, Codable {
    package enum Verdict: String, Sendable, Equatable, Codable, CaseIterable {
        /// As it should be.
        case ok
        /// Not there at all (a DNS record that does not exist).
        case missing
        /// There, but not as it should be.
        case wrong
        /// Works, but deserves attention (a certificate that expires in 10 days).
        case warning
        /// Could not be checked (a resolver that did not answer); says nothing about the fact.
        case error
        /// Not run: reaches outside the host and was skipped, or does not apply here.
        case skipped

        /// Whether this verdict lets `dns --check` and `doctor` exit 0.
        package var passes: Bool { self == .ok || self == .warning || self == .skipped }

        /// The value of the check's Prometheus gauge: 1 right, 0 wrong, -1 unknown.
        package var gauge: Int {
            switch self {
            case .ok, .warning: 1
            case .missing, .wrong: 0
            case .error, .skipped: -1
            }
        }
    }

    /// What kind of check: `dns`, `dnssec`, `host`, `network`, `tls`…
    package var group: String
    /// Which one, stable across runs (a metric label): `MX example.com`, `memory`, `port 25`.
    package var name: String
    package var verdict: Verdict
    /// What was found, in one line.
    package var detail: String
    /// What to do about it, when the verdict is not ok.
    package var fix: String?

    package init(group: String, name: String, verdict: Verdict, detail: String, fix: String? = nil) {
        self.group = group
        self.name = name
        self.verdict = verdict
        self.detail = detail
        self.fix = fix
    }
}
