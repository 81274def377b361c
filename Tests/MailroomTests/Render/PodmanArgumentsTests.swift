import Testing

@testable import MailroomRender
@testable import MailroomSpec

extension PureTests {
    /// `podman container run` arguments: `--flag=value`, flags sorted by name, repeated flags
    /// in spec order, then the image and its command.
    @Suite(.tags(.pure))
    struct PodmanArgumentsTests {
        struct Row: Sendable, CustomTestStringConvertible {
            var label: String
            var definition: ContainerDefinition
            var extraLabels: [KeyValue] = []
            var arguments: [String]
            var testDescription: String { label }
        }

        static let rows: [Row] = [
            Row(
                label: "only what is always there", definition: PureTests.definition("web", image: "localhost/web:1"),
                arguments: [
                    "container", "run", "--detach", "--name=web", "--network=net", "--quiet", "--replace",
                    "--tls-verify", "localhost/web:1",
                ]),
            Row(
                label: "every field",
                definition: PureTests.definition("mailu-front", image: "ghcr.io/mailu/nginx:2.0", network: "podman1") {
                    c in
                    c.hostname = "front"
                    c.ip = "10.90.0.32"
                    c.ip6 = "fd00::1:8:32"
                    c.dns = ["10.90.0.34"]
                    c.env = [KeyValue("B", "2"), KeyValue("A", "1")]
                    c.envFiles = ["/p/mailu/mailu.env"]
                    c.volumes = ["/p/certs/:/certs/", "/p/overrides/nginx/:/overrides/:ro"]
                    c.ports = ["127.0.0.1:25:25/tcp", "127.0.0.1:110:110/tcp"]
                    c.labels = [KeyValue("io.containers.autoupdate", "registry")]
                    c.command = ["sleep", "100"]
                    c.memory = "1g"
                    c.memoryReservation = "256m"
                    c.cpuShares = 1024
                    c.restart = "always"
                    c.logDriver = "journald"
                    c.logOptions = ["tag=mailu-front"]
                    c.healthcheck = Healthcheck(
                        command: "curl -f http://localhost/health", interval: "30s", timeout: "5s", retries: 3,
                        startPeriod: "1m")
                    c.extraArgs = ["--init", "--cap-add=NET_ADMIN", "--ulimit=nofile=1024:2048"]
                    c.dependsOn = ["mailu-resolver"]  // ordering only: no flag
                }, extraLabels: [KeyValue("mailroom.managed", "true"), KeyValue("mailroom.config-hash", "abc")],
                arguments: [
                    "container", "run",
                    "--cap-add=NET_ADMIN",
                    "--cpu-shares=1024",
                    "--detach",
                    "--dns=10.90.0.34",
                    "--env=B=2",
                    "--env=A=1",
                    "--env-file=/p/mailu/mailu.env",
                    "--health-cmd=curl -f http://localhost/health",
                    "--health-interval=30s",
                    "--health-retries=3",
                    "--health-start-period=1m",
                    "--health-timeout=5s",
                    "--hostname=front",
                    "--init",
                    "--ip=10.90.0.32",
                    "--ip6=fd00::1:8:32",
                    "--label=io.containers.autoupdate=registry",
                    "--label=mailroom.managed=true",
                    "--label=mailroom.config-hash=abc",
                    "--log-driver=journald",
                    "--log-opt=tag=mailu-front",
                    "--memory=1g",
                    "--memory-reservation=256m",
                    "--name=mailu-front",
                    "--network=podman1",
                    "--publish=127.0.0.1:25:25/tcp",
                    "--publish=127.0.0.1:110:110/tcp",
                    "--quiet",
                    "--replace",
                    "--restart=always",
                    "--tls-verify",
                    "--ulimit=nofile=1024:2048",
                    "--volume=/p/certs/:/certs/",
                    "--volume=/p/overrides/nginx/:/overrides/:ro",
                    "ghcr.io/mailu/nginx:2.0", "sleep", "100",
                ]),
            Row(
                label: "repeated flags keep spec order, not value order",
                definition: PureTests.definition("db", image: "localhost/db:1") { c in
                    c.volumes = ["/z:/z", "/a:/a", "/m:/m:ro"]
                    c.dns = ["10.0.0.9", "10.0.0.1"]
                    c.ports = ["127.0.0.1:9000:90", "127.0.0.1:8000:80"]
                    c.logOptions = ["tag=db", "max-size=10mb"]
                },
                arguments: [
                    "container", "run", "--detach", "--dns=10.0.0.9", "--dns=10.0.0.1", "--log-opt=tag=db",
                    "--log-opt=max-size=10mb",
                    "--name=db", "--network=net", "--publish=127.0.0.1:9000:90", "--publish=127.0.0.1:8000:80",
                    "--quiet", "--replace",
                    "--tls-verify", "--volume=/z:/z", "--volume=/a:/a", "--volume=/m:/m:ro", "localhost/db:1",
                ]),
            // Extra args sort by their name without dashes; one that repeats a field's flag
            // comes after the field's own.
            Row(
                label: "extra args sorted by name",
                definition: PureTests.definition("x", image: "localhost/x:1") { c in
                    c.volumes = ["/b:/b"]
                    c.extraArgs = ["--volume=/a:/a", "--pids-limit=100", "-q", "--add-host=db:10.0.0.2"]
                },
                arguments: [
                    "container", "run", "--add-host=db:10.0.0.2", "--detach", "--name=x", "--network=net",
                    "--pids-limit=100", "-q", "--quiet",
                    "--replace", "--tls-verify", "--volume=/b:/b", "--volume=/a:/a", "localhost/x:1",
                ]),
            Row(
                label: "labels, then the extra labels in their order",
                definition: PureTests.definition("l", image: "localhost/l:1") { c in
                    c.labels = [KeyValue("z.label", "1"), KeyValue("a.label", "2")]
                }, extraLabels: [KeyValue("mailroom.managed", "true")],
                arguments: [
                    "container", "run", "--detach", "--label=z.label=1", "--label=a.label=2",
                    "--label=mailroom.managed=true", "--name=l",
                    "--network=net", "--quiet", "--replace", "--tls-verify", "localhost/l:1",
                ]),
            Row(
                label: "image then command, values with spaces stay one argument",
                definition: PureTests.definition("c", image: "localhost/c:1") { c in
                    c.command = ["sh", "-c", "echo a b; exit 3"]
                    c.env = [KeyValue("GREETING", "hello world")]
                    c.healthcheck = Healthcheck(command: "test -e /tmp")
                },
                arguments: [
                    "container", "run", "--detach", "--env=GREETING=hello world", "--health-cmd=test -e /tmp",
                    "--name=c", "--network=net",
                    "--quiet", "--replace", "--tls-verify", "localhost/c:1", "sh", "-c", "echo a b; exit 3",
                ]),
        ]

        @Test(arguments: rows)
        func run(_ row: Row) {
            #expect(PodmanArguments.run(row.definition, extraLabels: row.extraLabels) == row.arguments)
        }

        @Test(arguments: rows)
        func flagsAreSortedByName(_ row: Row) {
            let arguments = PodmanArguments.run(row.definition, extraLabels: row.extraLabels)
            let flags = arguments.dropFirst(2).prefix { $0.hasPrefix("-") }.map(PodmanArguments.flagName)
            #expect(flags == flags.sorted())
            #expect(arguments.dropFirst(2 + flags.count).first == row.definition.image)
        }

        @Test func flagName() {
            #expect(PodmanArguments.flagName("--env=A=1") == "env")
            #expect(PodmanArguments.flagName("--init") == "init")
            #expect(PodmanArguments.flagName("-q") == "q")
            #expect(PodmanArguments.flagName("--") == "--")
        }
    }
}
