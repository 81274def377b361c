import Foundation
import Logging
import Testing

@testable import MailroomAgent
@testable import MailroomHost
@testable import MailroomSupport
@testable import MailroomTestSupport

extension PureTests {
    /// The agent's parts that decide from their inputs: configuration, signatures, the
    /// self-heal budget, metrics and status text, listen addresses, log lines, time text.
    @Suite("Agent parts", .tags(.pure))
    struct AgentUnitTests {
        @Test("configuration: every key, defaults, file:line errors")
        func configuration() throws {
            let config = try AgentConfiguration.parse(
                """
                repository: /srv/git/mail.git
                branch: prod
                path: deploy
                poll_interval: 30s
                resync_interval: 10m
                debounce: 150ms
                override_dirs: [/srv/mailu/overrides]
                state_dir: /var/lib/mr
                listen: 127.0.0.1:9400
                webhook_secret_file: /etc/mailroom/webhook.secret
                self_heal: {restarts: 3, window: 2m}
                dry_run: true
                """, file: "agent.yaml")
            #expect(config.warnings.isEmpty)
            #expect(config.repository == "/srv/git/mail.git" && config.branch == "prod" && config.path == "deploy")
            #expect(
                config.pollInterval == .seconds(30) && config.resyncInterval == .seconds(600)
                    && config.debounce == .milliseconds(150))
            #expect(config.overrideDirectories == ["/srv/mailu/overrides"] && config.stateDirectory == "/var/lib/mr")
            #expect(config.listenHost == "127.0.0.1" && config.listenPort == 9400)
            #expect(config.selfHealRestarts == 3 && config.selfHealWindow == .seconds(120) && config.dryRun)

            let defaults = try AgentConfiguration.parse(
                "repository: https://git.example.org/mail.git\n", file: "a.yaml")
            #expect(
                defaults.debounce == .milliseconds(200) && defaults.listenPort == 9321
                    && defaults.resyncInterval == .seconds(600))
            #expect(defaults.selfHealRestarts == 5 && defaults.selfHealWindow == .seconds(300))

            let unknown = #expect(throws: AgentConfigurationError.self) {
                try AgentConfiguration.parse("repository: /r.git\n\npol-interval: 5s\n", file: "agent.yaml")
            }
            #expect(unknown?.description.hasPrefix("agent.yaml:3: error: unknown key 'pol-interval'") == true)
            let badDuration = #expect(throws: AgentConfigurationError.self) {
                try AgentConfiguration.parse("repository: /r.git\ndebounce: soon\n", file: "agent.yaml")
            }
            #expect(badDuration?.line == 2)
            let missing = #expect(throws: AgentConfigurationError.self) {
                try AgentConfiguration.parse("branch: main\n", file: "agent.yaml")
            }
            #expect(missing?.message.contains("repository") == true)
            // A list left open is reported where it opens, not at the next key the parser reached.
            let open = #expect(throws: AgentConfigurationError.self) {
                try AgentConfiguration.parse(
                    "repository: /r.git\noverride_dirs: [/srv/a,\n  /srv/b\npoll_interval: 5s\n", file: "agent.yaml")
            }
            #expect(open?.line == 2 && open?.message.contains("'[' list that opens here is not closed") == true)
            #expect(throws: AgentConfigurationError.self) {
                try AgentConfiguration.parse("repository: /r.git\nlisten: nowhere\n", file: "x")
            }
            let short = #expect(throws: AgentConfigurationError.self) {
                try AgentConfiguration.parse("repository: /r.git\npoll_interval: 1s\n", file: "x")
            }
            #expect(short?.line == 2)
            // Longer than the default backoff cap: the agent still starts.
            #expect(
                try AgentConfiguration.parse("repository: /r.git\npoll_interval: 1h\n", file: "x").pollInterval
                    == .seconds(3600))
        }

        @Test("configuration: 0.1's kebab-case keys still read, each with a deprecation warning at its line")
        func kebabCaseKeys() throws {
            let config = try AgentConfiguration.parse(
                "repository: /r.git\npoll-interval: 30s\nstate-dir: /var/lib/mr\nself-heal: {restarts: 2}\n",
                file: "agent.yaml")
            #expect(config.pollInterval == .seconds(30) && config.stateDirectory == "/var/lib/mr")
            #expect(config.selfHealRestarts == 2)
            #expect(
                config.warnings.map { String($0.prefix(while: { $0 != ";" })) } == [
                    "agent.yaml:2: warning: 'poll-interval' is the old spelling of 'poll_interval'",
                    "agent.yaml:3: warning: 'state-dir' is the old spelling of 'state_dir'",
                    "agent.yaml:4: warning: 'self-heal' is the old spelling of 'self_heal'",
                ])
            // A misspelling is still an error, as written.
            let unknown = #expect(throws: AgentConfigurationError.self) {
                try AgentConfiguration.parse("repository: /r.git\npoll-intervall: 5s\n", file: "agent.yaml")
            }
            #expect(unknown?.description.hasPrefix("agent.yaml:2: error: unknown key 'poll-intervall'") == true)
        }

        @Test("contrib/agent.yaml parses, in the current spelling")
        func contribExample() throws {
            let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
                "../../../contrib/agent.yaml"
            ).path
            let config = try AgentConfiguration.load(file: file)
            #expect(config.listenHost == "127.0.0.1" && config.listenPort == 9321)
            #expect(config.warnings.isEmpty, "\(config.warnings)")
        }

        @Test("webhook signature: GitHub and Gitea forms; wrong, missing and malformed refused")
        func signature() {
            let signature = WebhookSignature(secret: Data("It's a Secret to Everybody".utf8))
            let body = Data("Hello, World!".utf8)
            // GitHub's documented example.
            let expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
            #expect(signature.sign(body) == expected)
            #expect(signature.verify(expected, body: body))
            #expect(signature.verify(String(expected.dropFirst(7)), body: body))
            #expect(
                signature.verify(expected.uppercased().replacingOccurrences(of: "SHA256=", with: "sha256="), body: body)
            )
            #expect(!signature.verify(expected, body: Data("Hello, World?".utf8)))
            #expect(!signature.verify(nil, body: body))
            #expect(!signature.verify("sha256=zz", body: body))
            #expect(!WebhookSignature(secret: Data("other".utf8)).verify(expected, body: body))
        }

        @Test("self-heal budget: 5 in the window, then degraded until reset; backoff grows")
        func budget() {
            var budget = SelfHealBudget(restarts: 5, window: .seconds(300))
            let start = ContinuousClock.now
            for i in 0..<5 {
                let spent = budget.spend("smtp", at: start + .seconds(i))
                #expect(spent)
            }
            #expect(budget.backoff(for: "smtp", at: start + .seconds(5)) == .seconds(8))
            // Held until the last restart (at 4 s) plus the backoff; one restart holds nothing.
            #expect(budget.held(at: start + .seconds(5)) == ["smtp": start + .seconds(12)])
            #expect(budget.held(at: start + .seconds(12)).isEmpty)
            var once = SelfHealBudget()
            _ = once.spend("imap", at: start)
            #expect(once.held(at: start).isEmpty)
            let sixth = budget.spend("smtp", at: start + .seconds(6))
            #expect(!sixth)
            #expect(budget.degraded == ["smtp"])
            let other = budget.spend("imap", at: start + .seconds(6))
            #expect(other)
            let later = budget.spend("smtp", at: start + .seconds(400))
            #expect(!later)  // degraded stays until a change
            budget.reset()
            let afterReset = budget.spend("smtp", at: start + .seconds(401))
            #expect(afterReset && budget.degraded.isEmpty)
            // allows: checked before a put-back; exhausted means degraded.
            var checked = SelfHealBudget(restarts: 1, window: .seconds(60))
            let before = checked.allows("x", at: start)
            _ = checked.spend("x", at: start)
            let after = checked.allows("x", at: start + .seconds(1))
            #expect(before && !after && checked.degraded == ["x"])
            // Old restarts leave the window.
            var windowed = SelfHealBudget(restarts: 2, window: .seconds(10))
            let a1 = windowed.spend("a", at: start)
            let a2 = windowed.spend("a", at: start + .seconds(1))
            let a3 = windowed.spend("a", at: start + .seconds(20))
            #expect(a1 && a2 && a3)
        }

        @Test("metrics: Prometheus text with counters, histogram and gauge")
        func metrics() {
            var metrics = AgentMetrics()
            metrics.rollouts["succeeded"] = 2
            metrics.rollouts["failed"] = 1
            metrics.reconciles["git"] = 3
            metrics.driftCorrections = 1
            metrics.observeDuration(seconds: 0.7)
            metrics.observeDuration(seconds: 12)
            metrics.lastSuccessfulApply = Date(timeIntervalSince1970: 1_700_000_000)
            let text = metrics.prometheusText
            for line in [
                "mailroom_rollouts_total{result=\"failed\"} 1", "mailroom_rollouts_total{result=\"succeeded\"} 2",
                "mailroom_rollout_duration_seconds_bucket{le=\"0.5\"} 0",
                "mailroom_rollout_duration_seconds_bucket{le=\"1\"} 1",
                "mailroom_rollout_duration_seconds_bucket{le=\"30\"} 2",
                "mailroom_rollout_duration_seconds_bucket{le=\"+Inf\"} 2",
                "mailroom_rollout_duration_seconds_count 2", "mailroom_reconciles_total{trigger=\"git\"} 3",
                "mailroom_drift_corrections_total 1",
                "mailroom_last_successful_apply_timestamp_seconds 1700000000",
                "# TYPE mailroom_rollout_duration_seconds histogram",
            ] {
                #expect(text.contains(line + "\n"), "\(line)")
            }
        }

        @Test("status: JSON round trip; text names pin and degraded")
        func status() throws {
            var status = AgentStatus()
            status.startedAt = Date(timeIntervalSince1970: 1_700_000_000)  // ISO 8601 keeps whole seconds
            status.currentCommit = "0123456789abcdef0123"
            status.appliedCommit = "0123456789abcdef0123"
            status.sync = AgentControl(pinnedCommit: "fedcba9876543210").summary
            status.degraded = ["mrt-mailu-smtp"]
            #expect(try AgentStatus.decode(status.encoded()) == status)
            #expect(status.text.contains("pinned at fedcba987654"))
            #expect(status.text.contains("degraded:   mrt-mailu-smtp"))
        }

        /// An agent of another version may lack fields (an older one reported no `checks` or
        /// `drift`): `mailroom status` shows what there is.
        @Test("status: an older agent's /status without checks, drift or sync still decodes")
        func olderStatus() throws {
            let older =
                #"{"appliedCommit": "0123456789abcdef", "reconciling": false, "degraded": [], "startedAt": "2026-01-01T00:00:00Z"}"#
            let status = try AgentStatus.decode(Data(older.utf8))
            #expect(status.appliedCommit == "0123456789abcdef")
            #expect(status.checks.isEmpty && status.drift.isEmpty && status.checksRanAt == nil)
            #expect(status.sync == AgentStatus().sync)
            #expect(status.text.contains("applied:    0123456789ab"))
        }

        @Test("listen address: IPv4, IPv6 in brackets; names, bare IPv6 and bad ports refused")
        func listenAddress() throws {
            #expect(ListenAddress("127.0.0.1:9321") == ListenAddress(host: "127.0.0.1", port: 9321))
            #expect(ListenAddress("[::1]:9321") == ListenAddress(host: "::1", port: 9321))
            #expect(ListenAddress("[::1]:9321")?.description == "[::1]:9321")
            for bad in ["::1:9321", "localhost:9321", "127.0.0.1", "127.0.0.1:65536", "[::1]", "[zz]:80", ""] {
                #expect(ListenAddress(bad) == nil, "\(bad)")
            }
            let config = try AgentConfiguration.parse("repository: /r.git\nlisten: \"[::1]:9400\"\n", file: "x")
            #expect(config.listenHost == "::1" && config.listenPort == 9400)
            let error = #expect(throws: AgentConfigurationError.self) {
                try AgentConfiguration.parse("repository: /r.git\nlisten: ::1:9400\n", file: "x")
            }
            #expect(
                error?.description.contains("x:2") == true && error?.description.contains("[::1]:9321") == true,
                "\(String(describing: error))")
        }

        @Test("log lines: a multi-line message or metadata value becomes one line")
        func oneLineLogs() {
            let events = LockedValue<[LogEvent]>([])
            var logger = Logger(label: "t", factory: { _ in OneLineLogHandler(RecordingLogHandler(events: events)) })
            logger.logLevel = .info
            logger.error(
                "Agent problem:\n  first\n\n  second",
                metadata: ["agent.error": "mailroom.yaml:3:1: bad\nmailroom.yaml:9:5: worse", "n": "\(3)"])
            let event = events.current.first
            #expect(event?.message.description == "Agent problem: | first | second")
            #expect(event?.metadata?["agent.error"] == .string("mailroom.yaml:3:1: bad | mailroom.yaml:9:5: worse"))
            #expect(event?.metadata?["n"]?.description == "3")
            #expect(logger.handler.logLevel == .info)
        }

        @Test("configuration: dry-run booleans as Node.bool reads them, with or without tag resolution")
        func configurationBooleans() throws {
            func dryRun(_ value: String) -> Bool? {
                try? AgentConfiguration.parse("repository: /r.git\ndry_run: \(value)\n", file: "agent.yaml").dryRun
            }
            for word in [
                "true", "True", "TRUE", "tRuE", "yes", "Yes", "YES", "on", "On", "ON", "!!bool yes", "!!bool \"true\"",
            ] {
                #expect(dryRun(word) == true, "\(word)")
            }
            for word in ["false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"] {
                #expect(dryRun(word) == false, "\(word)")
            }
            for word in ["\"true\"", "'yes'", "1", "0", "y", "~", "", "[true]"] {
                #expect(dryRun(word) == nil, "\(word)")
            }
        }

        @Test("internet time: Foundation's ISO 8601 text, written and read without its calendar")
        func internetTime() throws {
            let plain = Date.ISO8601FormatStyle()
            let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
            let encoder = JSONEncoder()
            let decoder = JSONDecoder()
            encoder.dateEncodingStrategy = .iso8601
            decoder.dateDecodingStrategy = .iso8601
            var random = SystemRandomNumberGenerator()
            for i in 0..<20_000 {
                var seconds = Double.random(in: -1e9...3e9, using: &random)
                if i % 3 == 0 {
                    seconds = seconds.rounded(.down) + Double(Int.random(in: 0..<1000, using: &random)) / 1000
                }
                let date = Date(timeIntervalSince1970: seconds)
                let text = InternetTime.string(from: date)
                let precise = InternetTime.string(from: date, milliseconds: true)
                #expect(text == date.formatted(plain) && precise == date.formatted(fractional), "\(seconds)")
                #expect(try encoder.encode([date]) == Data("[\"\(text)\"]".utf8))
                for written in [text, precise] {
                    let read = InternetTime.date(from: written)
                    #expect(
                        read == (try? fractional.parse(written))
                            && read == (try? decoder.decode([Date].self, from: Data("[\"\(written)\"]".utf8)))?.first,
                        "\(written)")
                }
            }
            #expect(
                InternetTime.string(from: Date(timeIntervalSince1970: 1_732_550_135.9996), milliseconds: true)
                    == "2024-11-25T15:55:35.999Z")
            #expect(InternetTime.date(from: "2026-11-25T15:55:35+01:00") == Date(timeIntervalSince1970: 1_795_618_535))
            #expect(
                InternetTime.date(from: "2026-11-25T15:55:35.5+0100") == Date(timeIntervalSince1970: 1_795_618_535.5))
            for bad in [
                "2026-11-25 15:55:35Z", "2026-11-25T15:55:35", "2026-11-25t15:55:35z", "20261125T155535Z",
                "2026-11-25T15:55:35.Z",
                "2026-11-25T15:55:35.1234567891Z", "2026-13-01T00:00:00Z", "",
            ] {
                #expect(InternetTime.date(from: bad) == nil, "\(bad)")
            }
        }
    }
}

/// A log handler that keeps what it is given (a real handler, not a stand-in for a part).
struct RecordingLogHandler: LogHandler {
    let events: LockedValue<[LogEvent]>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    func log(event: LogEvent) { events.withLock { $0.append(event) } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
}
