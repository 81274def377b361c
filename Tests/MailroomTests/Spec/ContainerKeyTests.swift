import Foundation
import Testing

@testable import MailroomPlan
@testable import MailroomRender
@testable import MailroomSpec
@testable import MailroomSupport
@testable import MailroomTestSupport

extension PureTests {
    /// The container-key table is the one place a key is declared: everything that reads,
    /// renders, compares or documents keys follows it.
    @Suite("Container keys, declared once", .tags(.pure))
    struct ContainerKeyTests {
        /// A new container, every key written.
        static let everyKey =
            TestSpecs.minimal + """
                containers:
                  extra:
                    enabled: true
                    image: localhost/extra:1
                    hostname: extra
                    ip: 10.90.0.50
                    dns: [10.90.0.34]
                    env: {MODE: fast}
                    env_files: [/srv/extra/extra.env]
                    volumes: ["/srv/extra/:/data/:ro"]
                    ports: ["127.0.0.1:8080:80/tcp"]
                    labels: {team: mail}
                    command: [sleep, infinity]
                    memory: 64m
                    memory_reservation: 32m
                    cpu_shares: 512
                    restart: on-failure
                    log_driver: journald
                    log_opts: [tag=extra]
                    healthcheck: {command: "true", interval: 30s, timeout: 5s, retries: 3, start_period: 10s}
                    extra_args: [--init]
                    depends_on: [mailu-admin]

                """

        static func extra() throws -> ContainerDefinition {
            try #require(Fixtures.compile(everyKey).explicit.container(named: "extra"))
        }

        @Test("the README lists exactly the table's keys, in its order")
        func readmeListsTheKeys() throws {
            let readme = try String(contentsOfFile: Fixtures.repositoryRoot + "/README.md", encoding: .utf8)
            let start = try #require(readme.range(of: "Container keys: `"))
            let end = try #require(readme[start.upperBound...].firstIndex(of: "`"))
            // `healthcheck{command interval ...}` lists the health check's own keys in braces.
            let listed = readme[start.upperBound..<end]
                .replacingOccurrences(of: #"\{[^}]*\}"#, with: "", options: .regularExpression)
                .split(whereSeparator: \.isWhitespace).map(String.init)
            #expect(listed == ContainerKey.names)
        }

        @Test("every key written in the spec reaches the definition, with where it was written")
        func everyKeyIsRead() throws {
            let c = try Self.extra()
            #expect(c.image == "localhost/extra:1" && c.hostname == "extra" && c.ip == "10.90.0.50")
            #expect(
                c.dns == ["10.90.0.34"] && c.env == [KeyValue("MODE", "fast")] && c.envFiles == ["/srv/extra/extra.env"]
            )
            #expect(c.volumes == ["/srv/extra/:/data/:ro"] && c.ports == ["127.0.0.1:8080:80/tcp"])
            #expect(c.labels == [KeyValue("team", "mail")] && c.command == ["sleep", "infinity"])
            #expect(
                c.memory == "64m" && c.memoryReservation == "32m" && c.cpuShares == 512 && c.restart == "on-failure")
            #expect(c.logDriver == "journald" && c.logOptions == ["tag=extra"] && c.extraArgs == ["--init"])
            #expect(
                c.healthcheck
                    == Healthcheck(command: "true", interval: "30s", timeout: "5s", retries: 3, startPeriod: "10s"))
            #expect(c.dependsOn == ["mailu-admin"])
            // ip6 is not written (the network has no IPv6 subnet); maps record each entry.
            for key in ContainerKey.all where !["enabled", "ip6", "env", "labels"].contains(key.name) {
                #expect(c.origins[key.name] != nil, "no location recorded for \(key.name)")
            }
            #expect(c.origins["env.MODE"] != nil && c.origins["labels.team"] != nil)
        }

        @Test("every flag a key renders has a podman inspect field to compare with, or says it has none")
        func everyRenderedFlagIsComparable() throws {
            let arguments = PodmanArguments.run(try Self.extra())
            let flags = arguments.filter { $0.hasPrefix("--") }.map(PodmanArguments.flagName)
            #expect(
                Set(flags).isSuperset(of: [
                    "cpu-shares", "dns", "env", "env-file", "health-cmd", "health-interval",
                    "health-retries", "health-start-period", "health-timeout", "hostname", "ip",
                    "label", "log-driver", "log-opt", "memory", "memory-reservation", "publish",
                    "restart", "volume", "init",
                ]))
            for flag in Set(flags) where flag != "init" {
                #expect(ContainerKey.observed(flag: flag) != nil, "--\(flag) has no entry in the table")
            }
            // A flag from extra_args is not the table's: it cannot be compared.
            #expect(ContainerKey.observed(flag: "init") == nil)
            #expect(arguments.suffix(3) == ["localhost/extra:1", "sleep", "infinity"])
        }

        @Test("a definition encodes under the YAML names and decodes to the same definition")
        func codingFollowsTheTable() throws {
            var c = try Self.extra()
            let data = try JSONEncoder().encode(c)
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            // Optional values that are not set (ip6 here) are left out, as JSON does.
            let expected = Set(["name", "network"] + ContainerKey.names.filter { !["enabled", "ip6"].contains($0) })
            #expect(Set(object.keys) == expected)
            let decoded = try JSONDecoder().decode(ContainerDefinition.self, from: data)
            c.origins = [:]
            #expect(decoded == c)
        }

        @Test("an unknown container key is refused with the closest key")
        func unknownKey() {
            let problems = Fixtures.diagnostics(TestSpecs.minimal + "containers:\n  mailu-smtp:\n    memroy: 1g\n")
            #expect(problems.map(\.message) == ["unknown key 'memroy'"])
            #expect(problems.first?.hint == "did you mean 'memory'?")
        }
    }
}
