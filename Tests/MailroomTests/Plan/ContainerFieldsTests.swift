import Foundation
import Testing

@testable import MailroomHost
@testable import MailroomPlan
@testable import MailroomRender
@testable import MailroomSpec

extension PureTests {
    /// `ContainerFields.comparable` against real `podman container inspect` output, recorded
    /// by Fixtures/inspect/record.sh on podman 4.3.1. The desired definitions below repeat the
    /// flags that script ran, one for one.
    @Suite(.tags(.pure))
    struct ContainerFieldsTests {
        static let root = "/tmp/purefx-root"
        static let image = "localhost/purefx/busybox:1"
        static let mailuEnvPath = root + "/mailu.env"
        /// The env file front.json was created with.
        static let mailuEnv = """
            # Mailu main configuration file

            DOMAIN=example.com
            HOSTNAMES=mail.example.com
            MESSAGE_SIZE_LIMIT=50000000
            SUBNET=10.199.77.0/24

            """
        static let oddEnvPath = root + "/odd.env"
        /// The env file odd.json was run with.
        static let oddEnv = "  # indented comment=not a variable\n  INDENTED=yes\nEQUALS=a=b\nEMPTY=\n"

        /// Decodes a fixture the way `PodmanCLI.inspectContainers` does.
        static func inspection(_ fixture: String) throws -> ContainerInspection {
            let path = Fixtures.repositoryRoot + "/Tests/MailroomTests/Fixtures/inspect/\(fixture).json"
            let data = try #require(FileManager.default.contents(atPath: path), "missing fixture \(path)")
            let objects = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
            #expect(objects.count == 1)
            return ContainerInspection(json: try #require(objects.first))
        }

        /// purefx-front: the guide's flags (created, not started: see record.sh).
        static func front(_ change: (inout ContainerDefinition) -> Void = { _ in }) -> ContainerDefinition {
            PureTests.definition("purefx-front", image: image, network: "purefx-net") { c in
                c.cpuShares = 1024
                c.dns = ["10.199.77.34"]
                c.env = [KeyValue("I_KNOW_MY_SETUP_DOESNT_FIT_REQUIREMENTS_AND_WONT_FILE_ISSUES_WITHOUT_PATCHES", "1")]
                c.envFiles = [mailuEnvPath]
                c.healthcheck = Healthcheck(command: "test -e /tmp", interval: "disable")
                c.hostname = "front"
                c.extraArgs = ["--init"]
                c.ip = "10.199.77.32"
                c.ip6 = "fd42:7777::32"
                c.labels = [KeyValue("io.containers.autoupdate", "registry")]
                c.logDriver = "k8s-file"
                c.logOptions = ["tag=mailu-front"]
                c.memory = "1g"
                c.memoryReservation = "256m"
                c.ports = ["127.0.0.1:47025:25/tcp", "127.0.0.1:47993:993"]
                c.restart = "always"
                c.volumes = ["\(root)/certs/:/certs/", "\(root)/overrides/nginx/:/overrides/:ro"]
                c.command = ["sleep", "100000"]
                change(&c)
            }
        }

        /// purefx-odd (running), with only the flags that should read back equal.
        static func odd(_ change: (inout ContainerDefinition) -> Void = { _ in }) -> ContainerDefinition {
            PureTests.definition("purefx-odd", image: image, network: "purefx-net") { c in
                c.extraArgs = ["--init"]
                c.ip = "10.199.77.50"
                c.ip6 = "fd42:7777:0:0::50"
                c.logDriver = "k8s-file"
                c.ports = ["[::1]:47443:443/tcp"]
                c.volumes = ["purefx-vol:/var/lib/odd"]
                c.command = ["sleep", "100000"]
                change(&c)
            }
        }

        /// Desired fields as the planner builds them (rendered arguments with Mailroom's
        /// label), then the comparable pair and its differences.
        static func compare(
            _ c: ContainerDefinition, envFiles: [String: String] = [mailuEnvPath: mailuEnv], fixture: String
        ) throws
            -> (want: ContainerFields, have: ContainerFields, differences: [FieldChange])
        {
            let desired = ContainerFields(
                arguments: PodmanArguments.run(c, extraLabels: [KeyValue(PodmanArguments.managedLabel, "true")]))
            let (want, have) = ContainerFields.comparable(
                desired: desired, envFiles: envFiles, inspection: try inspection(fixture))
            return (want, have, want.differences(from: have))
        }

        // MARK: Decoding

        struct Decoded: Sendable, CustomTestStringConvertible {
            var fixture: String
            var status: String
            var running: Bool
            var exitCode: Int
            /// nil: podman's default, the first 12 digits of the id.
            var hostname: String?
            var restartPolicy: String
            var memory: Int64
            var logTag: String
            var cmd: [String]
            var healthcheck: [String]
            var addresses: [String: [String]]
            var testDescription: String { fixture }
        }

        @Test(arguments: [
            Decoded(
                fixture: "front", status: "created", running: false, exitCode: 0, hostname: "front",
                restartPolicy: "always",
                memory: 1_073_741_824, logTag: "mailu-front", cmd: ["sleep", "100000"],
                healthcheck: ["CMD-SHELL", "test -e /tmp"],
                addresses: ["purefx-net": ["", ""]]),
            Decoded(
                fixture: "exited", status: "exited", running: false, exitCode: 3, hostname: "exited", restartPolicy: "",
                memory: 0, logTag: "", cmd: ["sh", "-c", "exit 3"], healthcheck: [],
                addresses: ["purefx-net": ["", ""]]),
            Decoded(
                fixture: "odd", status: "running", running: true, exitCode: 0, hostname: nil,
                restartPolicy: "on-failure",
                memory: 1_073_741_824, logTag: "", cmd: ["sleep", "100000"], healthcheck: [],
                addresses: ["purefx-net": ["10.199.77.50", "fd42:7777::50"]]),
        ])
        func decodes(_ row: Decoded) throws {
            let i = try Self.inspection(row.fixture)
            #expect(i.name == "purefx-\(row.fixture)")
            #expect(i.imageName == Self.image)
            #expect(i.state.status == row.status)
            #expect(i.state.running == row.running)
            #expect(i.state.exitCode == row.exitCode)
            #expect(i.state.health == nil)  // podman writes "Status": "" when no check has run
            #expect(i.config.hostname == row.hostname ?? String(i.id.prefix(12)))
            #expect(i.id.count == 64)
            #expect(i.config.cmd == row.cmd)
            #expect(i.config.healthcheck == row.healthcheck)
            #expect(i.hostConfig.restartPolicy == row.restartPolicy)
            #expect(i.hostConfig.memory == row.memory)
            #expect(i.hostConfig.logType == "k8s-file")
            #expect(i.hostConfig.logTag == row.logTag)
            #expect(i.networks.mapValues { [$0.ipAddress, $0.globalIPv6Address] } == row.addresses)
            #expect(i.restartCount == 0)
        }

        @Test func decodesFrontHostConfig() throws {
            let i = try Self.inspection("front")
            // podman drops the host path's trailing slash and keeps the container path's.
            #expect(
                i.hostConfig.binds.sorted() == [
                    "\(Self.root)/certs:/certs/:rw,rprivate,rbind",
                    "\(Self.root)/overrides/nginx:/overrides/:ro,rprivate,rbind",
                ])
            #expect(i.hostConfig.dns == ["10.199.77.34"])
            #expect(i.hostConfig.memoryReservation == 268_435_456)
            #expect(i.hostConfig.cpuShares == 1024)
            #expect(
                i.hostConfig.portBindings == [
                    "25/tcp": [ContainerInspection.PortBinding(hostIP: "127.0.0.1", hostPort: "47025")],
                    "993/tcp": [ContainerInspection.PortBinding(hostIP: "127.0.0.1", hostPort: "47993")],
                ])
            #expect(i.config.labels == ["io.containers.autoupdate": "registry"])
            #expect(i.config.env.contains("HOSTNAMES=mail.example.com"))
            #expect(!i.config.env.contains { $0.hasPrefix("#") })
        }

        // MARK: The guide's container

        @Test func frontMatchesItsFlagsButForAddressesOfAContainerNotRunning() throws {
            let (want, have, differences) = try Self.compare(Self.front(), fixture: "front")
            // Created containers have no address yet: podman reports "" for both.
            #expect(
                differences == [
                    FieldChange(field: "ip", removed: [""], added: ["10.199.77.32"]),
                    FieldChange(field: "ip6", removed: [""], added: ["fd42:7777::32"]),
                ])
            #expect(
                Set(want.values.keys) == [
                    "command", "cpu-shares", "dns", "env", "health-cmd", "hostname", "image", "ip", "ip6", "label",
                    "log-driver",
                    "log-opt", "memory", "memory-reservation", "network", "publish", "restart", "volume",
                ])
            #expect(Set(have.values.keys) == Set(want.values.keys))
            // Normalised on both sides.
            #expect(have.values["memory"] == ["1073741824"])
            #expect(want.values["memory"] == ["1073741824"])
            #expect(want.values["memory-reservation"] == ["268435456"])
            #expect(
                have.values["volume"] == ["\(Self.root)/certs:/certs", "\(Self.root)/overrides/nginx:/overrides:ro"])
            #expect(have.values["publish"] == ["127.0.0.1:47025:25/tcp", "127.0.0.1:47993:993/tcp"])
            #expect(want.values["publish"] == have.values["publish"])
            #expect(have.values["health-cmd"] == ["test -e /tmp"])
            #expect(have.values["log-opt"] == ["tag=mailu-front"])
            #expect(have.values["label"] == ["io.containers.autoupdate=registry"])
            // The env file expands into variables; comments and blank lines do not.
            #expect(
                want.values["env"] == [
                    "DOMAIN=example.com", "HOSTNAMES=mail.example.com",
                    "I_KNOW_MY_SETUP_DOESNT_FIT_REQUIREMENTS_AND_WONT_FILE_ISSUES_WITHOUT_PATCHES=1",
                    "MESSAGE_SIZE_LIMIT=50000000",
                    "SUBNET=10.199.77.0/24",
                ])
            #expect(have.values["env"] == want.values["env"])
        }

        struct Change: Sendable, CustomTestStringConvertible {
            var label: String
            var change: @Sendable (inout ContainerDefinition) -> Void = { _ in }
            var envFile: String = ContainerFieldsTests.mailuEnv
            var differences: [FieldChange]
            var testDescription: String { label }
        }

        /// Front without addresses (a created container has none), changed one way or another.
        static let changes: [Change] = [
            Change(label: "as recorded", differences: []),
            Change(label: "memory 1024m is 1g", change: { $0.memory = "1024m" }, differences: []),
            Change(label: "memory in bytes", change: { $0.memory = "1073741824" }, differences: []),
            Change(
                label: "memory 2g", change: { $0.memory = "2g" },
                differences: [FieldChange(field: "memory", removed: ["1073741824"], added: ["2147483648"])]),
            Change(
                label: "reservation 512m", change: { $0.memoryReservation = "512m" },
                differences: [FieldChange(field: "memory-reservation", removed: ["268435456"], added: ["536870912"])]),
            Change(
                label: "volume without trailing slashes", change: { $0.volumes[0] = "\(root)/certs:/certs" },
                differences: []),
            Change(
                label: "read-only volume with more options",
                change: { $0.volumes[1] = "\(root)/overrides/nginx/:/overrides/:z,ro" },
                differences: []),
            Change(
                label: "volume no longer read-only", change: { $0.volumes[1] = "\(root)/overrides/nginx/:/overrides/" },
                differences: [
                    FieldChange(
                        field: "volume", removed: ["\(root)/overrides/nginx:/overrides:ro"],
                        added: ["\(root)/overrides/nginx:/overrides"])
                ]),
            Change(
                label: "port with its protocol spelled out", change: { $0.ports[1] = "127.0.0.1:47993:993/tcp" },
                differences: []),
            Change(
                label: "port on every address", change: { $0.ports[0] = "47025:25/tcp" },
                differences: [
                    FieldChange(field: "publish", removed: ["127.0.0.1:47025:25/tcp"], added: ["47025:25/tcp"])
                ]),
            Change(
                label: "port over udp", change: { $0.ports[1] = "127.0.0.1:47993:993/udp" },
                differences: [
                    FieldChange(
                        field: "publish", removed: ["127.0.0.1:47993:993/tcp"], added: ["127.0.0.1:47993:993/udp"])
                ]),
            Change(
                label: "a value in the env file",
                envFile: mailuEnv.replacingOccurrences(of: "50000000", with: "60000000"),
                differences: [
                    FieldChange(
                        field: "env", removed: ["MESSAGE_SIZE_LIMIT=50000000"], added: ["MESSAGE_SIZE_LIMIT=60000000"])
                ]),
            Change(
                label: "--env wins over the env file", change: { $0.env.append(KeyValue("DOMAIN", "example.com")) },
                envFile: mailuEnv.replacingOccurrences(of: "DOMAIN=example.com", with: "DOMAIN=example.net"),
                differences: []),
            Change(
                label: "an --env value", change: { $0.env[0].value = "0" },
                differences: [
                    FieldChange(
                        field: "env",
                        removed: ["I_KNOW_MY_SETUP_DOESNT_FIT_REQUIREMENTS_AND_WONT_FILE_ISSUES_WITHOUT_PATCHES=1"],
                        added: ["I_KNOW_MY_SETUP_DOESNT_FIT_REQUIREMENTS_AND_WONT_FILE_ISSUES_WITHOUT_PATCHES=0"])
                ]),
            // Only variables the spec sets are compared: the image sets others (PATH, TERM).
            Change(
                label: "a variable the spec no longer sets",
                envFile: mailuEnv.replacingOccurrences(of: "HOSTNAMES=mail.example.com\n", with: ""),
                differences: []),
            Change(
                label: "hostname", change: { $0.hostname = "mail" },
                differences: [FieldChange(field: "hostname", removed: ["front"], added: ["mail"])]),
            Change(
                label: "label value", change: { $0.labels = [KeyValue("io.containers.autoupdate", "disabled")] },
                differences: [
                    FieldChange(
                        field: "label", removed: ["io.containers.autoupdate=registry"],
                        added: ["io.containers.autoupdate=disabled"])
                ]),
            Change(
                label: "log tag", change: { $0.logOptions = ["tag=front"] },
                differences: [FieldChange(field: "log-opt", removed: ["tag=mailu-front"], added: ["tag=front"])]),
            Change(
                label: "log driver", change: { $0.logDriver = "journald" },
                differences: [FieldChange(field: "log-driver", removed: ["k8s-file"], added: ["journald"])]),
            Change(
                label: "health command", change: { $0.healthcheck?.command = "test -e /etc" },
                differences: [FieldChange(field: "health-cmd", removed: ["test -e /tmp"], added: ["test -e /etc"])]),
            Change(
                label: "health interval is not compared", change: { $0.healthcheck?.interval = "30s" }, differences: []),
            Change(
                label: "restart policy", change: { $0.restart = "unless-stopped" },
                differences: [FieldChange(field: "restart", removed: ["always"], added: ["unless-stopped"])]),
            Change(
                label: "cpu shares", change: { $0.cpuShares = 512 },
                differences: [FieldChange(field: "cpu-shares", removed: ["1024"], added: ["512"])]),
            Change(
                label: "dns server", change: { $0.dns = ["10.199.77.35"] },
                differences: [FieldChange(field: "dns", removed: ["10.199.77.34"], added: ["10.199.77.35"])]),
            Change(
                label: "image tag", change: { $0.image = "localhost/purefx/busybox:2" },
                differences: [FieldChange(field: "image", removed: [image], added: ["localhost/purefx/busybox:2"])]),
            Change(
                label: "command", change: { $0.command = ["sleep", "5"] },
                differences: [FieldChange(field: "command", removed: ["sleep 100000"], added: ["sleep 5"])]),
            Change(
                label: "network", change: { $0.network = "other-net" },
                differences: [FieldChange(field: "network", removed: ["purefx-net"], added: ["other-net"])]),
            Change(
                label: "flags podman does not report back", change: { $0.extraArgs = ["--init", "--pids-limit=100"] },
                differences: []),
        ]

        @Test(arguments: changes)
        func frontChanged(_ row: Change) throws {
            let definition = Self.front { c in
                c.ip = nil
                c.ip6 = nil
                row.change(&c)
            }
            let differences = try Self.compare(definition, envFiles: [Self.mailuEnvPath: row.envFile], fixture: "front")
                .differences
            #expect(differences == row.differences)
        }

        // MARK: Made by hand

        @Test func exitedHandMadeContainer() throws {
            let definition = PureTests.definition("purefx-exited", image: Self.image, network: "purefx-net") { c in
                c.hostname = "exited"
                c.env = [KeyValue("A", "1")]
                c.volumes = ["\(Self.root)/data:/data:rw"]
                c.command = ["sh", "-c", "exit 3"]
            }
            #expect(try Self.compare(definition, envFiles: [:], fixture: "exited").differences == [])
            // A limit the spec sets and the container lacks reads as nothing on the host.
            let limited = try Self.compare(Self.front { _ in }, envFiles: [:], fixture: "exited").have
            #expect(limited.values["memory"] == [])
            #expect(limited.values["cpu-shares"] == [])
            #expect(limited.values["restart"] == [])
            #expect(limited.values["log-opt"] == [])
            #expect(limited.values["health-cmd"] == [])
        }

        @Test func runningContainerAddressesAndSpellings() throws {
            let (want, have, differences) = try Self.compare(Self.odd(), envFiles: [:], fixture: "odd")
            #expect(differences == [])
            #expect(want.values["ip6"] == ["fd42:7777::50"])  // written fd42:7777:0:0::50
            #expect(have.values["ip"] == ["10.199.77.50"])
            #expect(have.values["volume"] == ["purefx-vol:/var/lib/odd"])  // a named volume
            #expect(have.values["publish"] == ["::1:47443:443/tcp"])  // published on [::1]
            #expect(
                try Self.compare(Self.odd { $0.ip = "10.199.77.51" }, envFiles: [:], fixture: "odd").differences
                    == [FieldChange(field: "ip", removed: ["10.199.77.50"], added: ["10.199.77.51"])])
            #expect(
                try Self.compare(Self.odd { $0.ip6 = "fd42:7777::51" }, envFiles: [:], fixture: "odd").differences
                    == [FieldChange(field: "ip6", removed: ["fd42:7777::50"], added: ["fd42:7777::51"])])
        }

        @Test func envFileValuesWithEqualsAndEmpty() throws {
            let definition = Self.odd { $0.envFiles = [Self.oddEnvPath] }
            let env = "EQUALS=a=b\nEMPTY=\n"
            let (want, have, differences) = try Self.compare(
                definition, envFiles: [Self.oddEnvPath: env], fixture: "odd")
            #expect(differences == [])
            #expect(want.values["env"] == ["EMPTY=", "EQUALS=a=b"])
            #expect(have.values["env"] == ["EMPTY=", "EQUALS=a=b"])
        }

        // MARK: Spellings podman accepts that read back differently (known issues)

        /// podman reads `--restart=on-failure:3` back as `Name: on-failure`, `MaximumRetryCount: 3`;
        /// today the difference is `restart: -on-failure +on-failure:3`.
        @Test func restartWithRetryCount() throws {
            let differences = try Self.compare(Self.odd { $0.restart = "on-failure:3" }, envFiles: [:], fixture: "odd")
                .differences
            withKnownIssue("restart on-failure:N is compared with the policy name alone, so it always differs") {
                #expect(differences == [])
            }
        }

        /// podman takes `--memory=1gb` (docker/go-units) as 1073741824 bytes; today the
        /// difference is `memory: -1073741824 +1gb`.
        @Test func memoryWithByteSuffix() throws {
            let differences = try Self.compare(Self.odd { $0.memory = "1gb" }, envFiles: [:], fixture: "odd")
                .differences
            withKnownIssue(
                "normalizeBytes reads only <n>, <n>b, <n>k, <n>m, <n>g; podman also takes 1gb, 1GiB, 1.5g, 1t"
            ) {
                #expect(differences == [])
            }
        }

        /// podman stores `--log-opt=max-size=10mb` as `LogConfig.Size` "10MB", not as a tag;
        /// today the difference is `log-opt: +max-size=10mb`.
        @Test func logOptionOtherThanTag() throws {
            let differences = try Self.compare(
                Self.odd { $0.logOptions = ["max-size=10mb"] }, envFiles: [:], fixture: "odd"
            ).differences
            withKnownIssue("only log-opt tag= is read back, so any other log option always differs") {
                #expect(differences == [])
            }
        }

        /// podman trims leading blanks of env-file lines: an indented `# …` is a comment and
        /// `  INDENTED=yes` sets INDENTED (see the recorded Env of odd.json). Today the desired
        /// side has the variables "  # indented comment" and "  INDENTED" instead.
        @Test func indentedEnvFileLines() throws {
            let definition = Self.odd { $0.envFiles = [Self.oddEnvPath] }
            let differences = try Self.compare(definition, envFiles: [Self.oddEnvPath: Self.oddEnv], fixture: "odd")
                .differences
            #expect(try Self.inspection("odd").config.env.contains("INDENTED=yes"))
            withKnownIssue("env-file lines are not trimmed the way podman trims them") {
                #expect(differences == [])
            }
        }
    }
}
