import Foundation
import Testing

@testable import MailroomMailu
@testable import MailroomRender
@testable import MailroomSpec
@testable import MailroomSupport

extension PureTests {
    /// `hosts:`: one spec spread over several hosts, each rendering its own share.
    @Suite(.tags(.pure)) struct HostsTests {
        static var twoHosts: String { Fixtures.repositoryRoot + "/examples/two-hosts" }

        static func compile(_ text: String, host: String?) throws -> CompiledSpec {
            var compiler = Fixtures.compiler()
            compiler.hostName = host
            return try compiler.compile(
                SpecText(text, file: "mailroom.yaml"),
                secrets: .values(SecretValues(path: "(test)", values: ["SECRET_KEY": "s3cret"])))
        }

        static func diagnostics(_ text: String, host: String? = "mail") -> [SpecDiagnostic] {
            do {
                _ = try compile(text, host: host)
                return []
            } catch let error as SpecError {
                return error.diagnostics
            } catch {
                Issue.record("unexpected \(error)")
                return []
            }
        }

        static func exampleText() throws -> String {
            try SpecText.directory(twoHosts).text
        }

        /// The example with its `hosts:` section replaced.
        static func withHosts(_ hosts: String) throws -> String {
            let text = try exampleText()
            let start = text.range(of: "hosts:\n")!.lowerBound
            let end = text.range(of: "\nnetwork:\n")!.lowerBound
            return text.replacingCharacters(in: start..<end, with: hosts)
        }

        @Test func subnetsSplitEvenlyFromTheStart() throws {
            let parts = try #require(Subnet("10.90.0.0/16")?.split(into: 3))
            #expect(parts.map(\.description) == ["10.90.0.0/18", "10.90.64.0/18", "10.90.128.0/18"])
            let v6 = try #require(Subnet("fd00::1:8:0/112")?.split(into: 2))
            #expect(v6.map(\.description) == ["fd00::1:8:0/113", "fd00::1:8:8000/113"])
            #expect(Subnet("10.0.0.0/30")?.split(into: 2) == nil)
        }

        @Test func eachHostGetsItsShare() throws {
            let text = try Self.exampleText()
            let mail = try Self.compile(text, host: "mail")
            let scan = try Self.compile(text, host: "scan")
            let scanned: Set = ["mailu-antivirus", "mailu-antispam", "mailu-oletools"]
            #expect(Set(scan.desired.containers.map(\.name)) == scanned)
            #expect(mail.desired.containers.count == 10)
            #expect(Set(mail.desired.containers.map(\.name)).isDisjoint(with: scanned))
            // Each host its own subnet; the first keeps the guide's addresses.
            #expect(mail.desired.network.subnets == ["10.90.0.0/17", "fd00::1:8:0/113"])
            #expect(scan.desired.network.subnets == ["10.90.128.0/17", "fd00::1:8:8000/113"])
            #expect(scan.desired.network.arguments.contains("10.90.128.1"))
            #expect(mail.explicit.container(named: "mailu-front")?.ip == "10.90.0.32")
            #expect(scan.explicit.container(named: "mailu-antispam")?.ip == "10.90.128.39")
            // Dependencies on the other host's containers are dropped: systemd orders local units.
            #expect(
                scan.explicit.container(named: "mailu-antispam")?.dependsOn == ["mailu-oletools", "mailu-antivirus"])
            let all = try Fixtures.compile(directory: Fixtures.seedGuide).explicit
            for share in [mail, scan] {
                let local = Set(share.desired.containers.map(\.name))
                for c in share.explicit.containers {
                    #expect(c.dependsOn == all.container(named: c.name)?.dependsOn.filter(local.contains))
                }
            }
            // The guide's edges to the resolver cross to the other host, and are the ones dropped.
            #expect(all.containers.contains { scanned.contains($0.name) && $0.dependsOn.contains("mailu-resolver") })
        }

        @Test func addressesPointAcrossHosts() throws {
            let text = try Self.exampleText()
            for host in ["mail", "scan"] {
                let compiled = try Self.compile(text, host: host)
                let env = try #require(compiled.desired.files.first { $0.path.hasSuffix("/mailu.env") })
                #expect(env.content.contains("ANTISPAM_ADDRESS=10.90.128.39"))
                #expect(env.content.contains("ANTIVIRUS_ADDRESS=10.90.128.40"))
                #expect(env.content.contains("FRONT_ADDRESS=10.90.0.32"))
                // Mailu trusts the whole network, which holds both hosts' containers.
                #expect(env.content.contains("SUBNET=10.90.0.0/16"))
            }
        }

        @Test func scanHostHasOnlyItsFiles() throws {
            let scan = try Self.compile(try Self.exampleText(), host: "scan")
            #expect(scan.desired.files.map(\.path) == ["/podmandirectory/mailu/mailu.env"])
            #expect(scan.desired.objects == nil)
            #expect(scan.desired.keys.isEmpty)
            #expect(
                scan.desired.directories == [
                    "/unbackupdirectory/mailu/filter/", "/podmandirectory/mailu/overrides/rspamd/",
                ])
        }

        @Test func routesUnitReachesTheOtherHost() throws {
            let scan = try Self.compile(try Self.exampleText(), host: "scan")
            let unit = try #require(scan.desired.units.first { $0.path.hasSuffix("/" + HostRoutes.fileName) })
            let commands = HostRoutes.commands(inUnit: unit.content)
            #expect(
                commands.first?.arguments == ["/usr/sbin/ip", "route", "replace", "10.90.0.0/17", "via", "10.0.0.1"])
            let forward = commands.map { $0.arguments.joined(separator: " ") }
            #expect(
                forward.contains("/usr/sbin/iptables -w -A MAILROOM-HOSTS -s 10.90.0.0/17 -d 10.90.128.0/17 -j ACCEPT"))
            #expect(
                forward.contains("/usr/sbin/iptables -w -A MAILROOM-HOSTS -s 10.90.0.0/16 -d 10.90.128.0/17 -j DROP"))
            #expect(
                forward.contains(
                    "/usr/sbin/iptables -w -t nat -A MAILROOM-HOSTS -s 10.90.128.0/17 -d 10.90.0.0/17 -j ACCEPT"))
            #expect(commands == HostRoutes.commands(scan.explicit.layout!, network: scan.explicit.network))
        }

        @Test func singleHostSpecHasNoLayout() throws {
            let compiled = try Fixtures.compileSeedGuide()
            #expect(compiled.explicit.layout == nil)
            #expect(!compiled.desired.units.contains { $0.path.hasSuffix(HostRoutes.fileName) })
        }

        @Test func unknownHostIsRefused() throws {
            let problems = Self.diagnostics(try Self.exampleText(), host: "nowhere")
            #expect(problems.count == 1)
            #expect(
                problems.first?.message.contains("--host nowhere is none of the spec's hosts ('mail', 'scan')") == true)
            #expect(problems.first?.field == "hosts")
        }

        @Test func overlappingAndOutsideSubnetsAreRefused() throws {
            let text = try Self.withHosts(
                """
                hosts:
                  mail: {address: 10.0.0.1, subnet: 10.90.0.0/24}
                  scan: {address: 10.0.0.2, subnet: 10.90.0.128/25, containers: [mailu-antivirus]}
                  far: {address: 10.0.0.3, subnet: 10.91.0.0/24}

                """)
            let problems = Self.diagnostics(text)
            #expect(
                problems.contains { $0.field == "hosts.scan.subnet" && $0.message.contains("overlaps host 'mail'") })
            #expect(
                problems.contains {
                    $0.field == "hosts.far.subnet" && $0.code == .addressOutsideSubnet && $0.location.line == 11
                })
        }

        @Test func duplicateAddressAndUnknownContainerAreRefused() throws {
            let text = try Self.withHosts(
                """
                hosts:
                  mail: {address: 10.0.0.1}
                  scan: {address: 10.0.0.1, containers: [mailu-antivirs]}

                """)
            let problems = Self.diagnostics(text)
            #expect(problems.contains { $0.code == .duplicateAddress && $0.field == "hosts.scan.address" })
            #expect(
                problems.contains {
                    $0.field == "hosts.scan.containers" && $0.hint == "did you mean 'mailu-antivirus'?"
                })
        }

        @Test func adminAndFetchmailMustShareAHost() throws {
            let text = try Self.withHosts(
                """
                hosts:
                  mail: {address: 10.0.0.1}
                  scan: {address: 10.0.0.2, containers: [mailu-fetchmail]}

                """)
            let problems = Self.diagnostics(text)
            #expect(problems.count == 1)
            #expect(problems.first?.message.contains("fetchmail reads a directory of admin's data") == true)
        }

        @Test func mailPortsOnlyWhereFrontRuns() throws {
            var text = try Self.withHosts(
                """
                hosts:
                  mail: {address: 10.0.0.1}
                  scan: {address: 10.0.0.2, containers: [relay]}

                """)
            text +=
                "\ncontainers:\n  relay:\n    image: docker.io/library/busybox:1\n    ip: 10.90.128.9\n"
                + "    ports: [\"25:25/tcp\"]\n"
            let problems = Self.diagnostics(text)
            #expect(problems.count == 1)
            #expect(problems.first?.field == "containers.relay.ports")
            #expect(problems.first?.message.contains("does not run mailu-front") == true)
        }

        @Test func backupMXInsideTrustedSubnetIsRefused() throws {
            let text = try Self.withHosts(
                """
                hosts:
                  mail: {address: 10.0.0.1}
                  mx2: {role: backup-mx, subnet: 10.90.200.0/24, hostname: mx2.example.com, public_ipv4: 192.0.2.7}

                """)
            let problems = Self.diagnostics(text)
            #expect(problems.map(\.field) == ["hosts.mx2.subnet"])
            #expect(problems.first?.message.contains("lies inside the primary's trusted SUBNET 10.90.0.0/16") == true)
        }

        @Test func memoryWarningWhenTheAntivirusDoesNotFit() throws {
            let text = try Self.withHosts(
                """
                hosts:
                  mail: {address: 10.0.0.1, address6: "fd00:0:0:1::1", memory: 4g}
                  scan: {address: 10.0.0.2, address6: "fd00:0:0:1::2", memory: 1g, containers: [mailu-antivirus, mailu-antispam, mailu-oletools]}

                """)
            let scan = try Self.compile(text, host: "scan")
            let warnings = scan.explicit.layout?.warnings["scan"] ?? []
            #expect(warnings.count == 1)
            #expect(warnings.first?.contains("1 GiB for the antivirus") == true)
            #expect(scan.explicit.layout?.warnings["mail"] == nil)
        }
    }
}

extension PureTests.HostsTests {
    /// The doctor's memory check follows the host's own containers.
    @Test func doctorMemoryFollowsTheShare() throws {
        let text = try Self.exampleText()
        let mail = try Self.compile(text, host: "mail")
        let scan = try Self.compile(text, host: "scan")
        let settings = try #require(mail.spec.settings as? MailuSettings)
        #expect(settings.hostRequirements(mail.explicit).memoryBytes == 2 * HostRequirements.gibibyte)
        let scanNeeds = settings.hostRequirements(scan.explicit)
        #expect(scanNeeds.memoryBytes == HostRequirements.gibibyte * 3 / 2)
        #expect(scanNeeds.memoryReason == "512 MiB for its containers, 1 GiB for the antivirus")
        let single = try Fixtures.compileSeedGuide()
        #expect(settings.hostRequirements(single.explicit).memoryBytes == 3 * HostRequirements.gibibyte)
    }
}

extension PureTests.HostsTests {
    /// `hosts:` with one host: the whole subnet, the guide's addresses, no routes to anyone.
    @Test func oneDeclaredHostIsTheWholeNetwork() throws {
        let text = try Self.withHosts("hosts:\n  mail: {address: 10.0.0.1}\n")
        let mail = try Self.compile(text, host: "mail")
        let single = try Fixtures.compileSeedGuide()
        #expect(mail.desired.containers.map(\.arguments) == single.desired.containers.map(\.arguments))
        #expect(mail.desired.network == single.desired.network)
        #expect(mail.desired.units == single.desired.units)
        #expect(mail.desired.files == single.desired.files)
        #expect(mail.desired.directories == single.desired.directories)
    }

    /// A patch's own address keeps pointing at the line that wrote it, on whichever host.
    @Test func addressOutsideItsHostsPartPointsAtThePatch() throws {
        var text = try Self.withHosts(
            """
            hosts:
              mail: {address: 10.0.0.1}
              scan: {address: 10.0.0.2, containers: [relay]}

            """)
        text += "\ncontainers:\n  relay:\n    image: docker.io/library/busybox:1\n    ip: 10.90.0.9\n"
        let problems = Self.diagnostics(text)
        #expect(problems.count == 1)
        #expect(problems.first?.code == .addressOutsideSubnet)
        #expect(problems.first?.message.contains("10.90.128.0/17") == true)
        #expect(
            problems.first?.location.line == text.split(separator: "\n", omittingEmptySubsequences: false).count - 1)
    }
}

extension PureTests.HostsTests {
    /// Splitting a running deployment: a wider SUBNET, the first host keeping its network as it is.
    @Test func widenedSubnetKeepsTheFirstHostsNetwork() throws {
        var text = try Self.withHosts(
            """
            hosts:
              mail: {address: 10.0.0.1, subnet: 10.90.0.0/16, subnet6: "fd00::1:8:0/112"}
              scan: {address: 10.0.0.2, subnet: 10.91.0.0/16, subnet6: "fd00::1:9:0/112", containers: [mailu-antivirus]}

            """)
        text = text.replacingOccurrences(of: "  subnet: 10.90.0.0/16\n", with: "  subnet: 10.88.0.0/14\n")
            .replacingOccurrences(of: "  subnet6: fd00::1:8:0/112\n", with: "  subnet6: fd00::1:0:0/96\n")
        let mail = try Self.compile(text, host: "mail")
        let single = try Fixtures.compileSeedGuide()
        #expect(mail.desired.network == single.desired.network)
        let scan = try Self.compile(text, host: "scan")
        #expect(scan.desired.network.arguments.contains("10.91.0.1"))
        #expect(scan.desired.network.arguments.contains("fd00::1:9:1"))
        #expect(scan.explicit.container(named: "mailu-antivirus")?.ip == "10.91.0.40")
        let env = try #require(mail.desired.files.first { $0.path.hasSuffix("/mailu.env") })
        #expect(env.content.contains("SUBNET=10.88.0.0/14"))
    }
}

extension PureTests.HostsTests {
    /// The example's hosts, each with `address6` unless it is nil.
    static func withAddress6(mail: String? = "fd00:0:0:1::1", scan: String? = "fd00:0:0:1::2") throws -> String {
        let mail6 = mail.map { ", address6: \"\($0)\"" } ?? ""
        let scan6 = scan.map { ", address6: \"\($0)\"" } ?? ""
        return try withHosts(
            """
            hosts:
              mail: {address: 10.0.0.1\(mail6)}
              scan: {address: 10.0.0.2\(scan6), containers: [mailu-antivirus, mailu-antispam, mailu-oletools]}

            """)
    }

    static func routeLines(_ compiled: CompiledSpec) throws -> [String] {
        let unit = try #require(compiled.desired.units.first { $0.path.hasSuffix("/" + HostRoutes.fileName) })
        return HostRoutes.commands(inUnit: unit.content).map { $0.arguments.joined(separator: " ") }
    }

    /// Both hosts with `address6`: after the IPv4 routes and chains, the same for IPv6.
    @Test func address6RoutesIPv6BetweenHosts() throws {
        let scan = try Self.compile(try Self.withAddress6(), host: "scan")
        let lines = try Self.routeLines(scan)
        let ipv4 = try Self.routeLines(try Self.compile(try Self.exampleText(), host: "scan"))
        #expect(Array(lines.prefix(ipv4.count)) == ipv4)
        #expect(
            Array(lines.dropFirst(ipv4.count)) == [
                "/usr/sbin/ip -6 route replace fd00::1:8:0/113 via fd00:0:0:1::1",
                "/usr/sbin/ip6tables -w -N MAILROOM-HOSTS",
                "/usr/sbin/ip6tables -w -F MAILROOM-HOSTS",
                "/usr/sbin/ip6tables -w -A MAILROOM-HOSTS -s fd00::1:8:0/113 -d fd00::1:8:8000/113 -j ACCEPT",
                "/usr/sbin/ip6tables -w -A MAILROOM-HOSTS -s fd00::1:8:8000/113 -d fd00::1:8:8000/113 -j RETURN",
                "/usr/sbin/ip6tables -w -A MAILROOM-HOSTS -s fd00::1:8:0/112 -d fd00::1:8:8000/113 -j DROP",
                "/usr/sbin/ip6tables -w -D FORWARD -j MAILROOM-HOSTS",
                "/usr/sbin/ip6tables -w -I FORWARD 1 -j MAILROOM-HOSTS",
                "/usr/sbin/ip6tables -w -t nat -N MAILROOM-HOSTS",
                "/usr/sbin/ip6tables -w -t nat -F MAILROOM-HOSTS",
                "/usr/sbin/ip6tables -w -t nat -A MAILROOM-HOSTS -s fd00::1:8:8000/113 -d fd00::1:8:0/113 -j ACCEPT",
                "/usr/sbin/ip6tables -w -t nat -D POSTROUTING -j MAILROOM-HOSTS",
                "/usr/sbin/ip6tables -w -t nat -I POSTROUTING 1 -j MAILROOM-HOSTS",
            ])
        let unit = try #require(scan.desired.units.first { $0.path.hasSuffix("/" + HostRoutes.fileName) })
        #expect(unit.content.contains("\nExecStart=-/usr/sbin/ip6tables -w -N MAILROOM-HOSTS\n"))
        #expect(scan.explicit.layout?.warnings["scan"] == nil)
        let mail = try Self.compile(try Self.withAddress6(), host: "mail")
        #expect(
            try Self.routeLines(mail).contains("/usr/sbin/ip -6 route replace fd00::1:8:8000/113 via fd00:0:0:1::2"))
    }

    /// Without `address6` on either side the IPv6 part is left out, and the plan says so on both hosts.
    @Test func missingAddress6IsAPlanWarning() throws {
        let example = try Self.compile(try Self.exampleText(), host: "mail")
        #expect(try !Self.routeLines(example).contains { $0.contains("ip6tables") || $0.contains("ip -6") })
        let exampleWarnings = example.explicit.layout?.warnings["mail"] ?? []
        #expect(exampleWarnings.count == 1)
        #expect(exampleWarnings.first?.contains("'mail', 'scan' declare no address6") == true)
        let text = try Self.withAddress6(scan: nil)
        for host in ["mail", "scan"] {
            let compiled = try Self.compile(text, host: host)
            #expect(try !Self.routeLines(compiled).contains { $0.contains("ip6tables") || $0.contains("ip -6") })
            let warnings = compiled.explicit.layout?.warnings[host] ?? []
            #expect(warnings.count == 1)
            #expect(warnings.first?.contains("'scan' declares no address6") == true, "\(warnings)")
            #expect(warnings.first?.contains("IPv4 only") == true)
        }
    }

    /// `address6`: an IPv6 address, each host's own, outside the container subnets.
    @Test func address6IsRefusedWhereItCannotRoute() throws {
        func problem(mail: String?, scan: String?) throws -> SpecDiagnostic? {
            let problems = Self.diagnostics(try Self.withAddress6(mail: mail, scan: scan))
            #expect(problems.count == 1, "\(problems)")
            return problems.first
        }
        let notV6 = try problem(mail: "fd00:0:0:1::1", scan: "10.0.0.9")
        #expect(notV6?.field == "hosts.scan.address6")
        #expect(notV6?.message == "'10.0.0.9' is not an IPv6 address")
        #expect(notV6?.location.file == "mailroom.yaml" && notV6?.location.line == 10)
        let twice = try problem(mail: "fd00:0:0:1::1", scan: "fd00:0:0:1:0::1")
        #expect(twice?.code == .duplicateAddress && twice?.field == "hosts.scan.address6")
        #expect(twice?.message.contains("also the address6 of host 'mail'") == true)
        #expect(twice?.location.line == 10)
        let inside = try problem(mail: "fd00::1:8:8005", scan: "fd00:0:0:1::2")
        #expect(inside?.field == "hosts.mail.address6" && inside?.location.line == 9)
        #expect(inside?.message == "fd00::1:8:8005 lies inside host 'scan''s subnet6 fd00::1:8:8000/113")
    }

    /// Hosts other than members (the backup MX) get neither IPv6 routes nor warnings.
    @Test func ipv6RoutesSkipNonMembers() throws {
        func host(_ name: String, _ number: Int, role: HostSpec.Role = .member, address6: String?) -> HostSpec {
            HostSpec(
                name: name, address: "10.0.0.\(number)", address6: address6, subnet: "10.90.\(number).0/24",
                subnet6: "fd00::\(number):0/112", gateway: "10.90.\(number).1", gateway6: nil, containers: [],
                memoryBytes: nil, role: role, location: SourceLocation(file: "mailroom.yaml", line: number, column: 3))
        }
        let hosts = [
            host("mail", 1, address6: "fd01::1"), host("scan", 2, address6: "fd01::2"),
            host("mx2", 3, role: .backupMX, address6: nil),
        ]
        let layout = HostLayout(
            hosts: hosts, current: "mail", trustedSubnet: "10.90.0.0/16", trustedSubnet6: "fd00::/96")
        let network = NetworkSpec(
            name: "podman1", subnet: "10.90.1.0/24", gateway: "10.90.1.1", subnet6: "fd00::1:0/112", gateway6: nil,
            dns: true, location: hosts[0].location)
        let lines = HostRoutes.commands(layout, network: network).map { $0.arguments.joined(separator: " ") }
        #expect(lines.contains("/usr/sbin/ip -6 route replace fd00::2:0/112 via fd01::2"))
        #expect(!lines.contains { $0.contains("10.90.3.0/24") || $0.contains("fd00::3:0/112") })
        #expect(HostLayout.ipv6Warnings(hosts).isEmpty)
    }
}
