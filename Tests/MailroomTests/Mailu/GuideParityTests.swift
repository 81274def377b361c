import Foundation
import Testing

@testable import MailroomRender
@testable import MailroomSpec

extension PureTests {
    /// The seed-guide example renders the guide's commands flag for flag.
    @Suite(.tags(.pure)) struct GuideParityTests {
        /// The guide's commands from the verbatim fixture, continuation lines joined, with the
        /// author's public IP replaced as in examples/seed-guide.
        static func guideCommands() throws -> (
            network: [String], containers: [[String]], ordering: [String: (after: String, requires: String)]
        ) {
            let text = try String(
                contentsOfFile: Fixtures.repositoryRoot + "/Tests/MailroomTests/Fixtures/guide-commands.txt",
                encoding: .utf8)
            var network: [String] = []
            var containers: [[String]] = []
            var ordering: [String: (String, String)] = [:]
            let blocks = text.components(separatedBy: "\n\n")
            for block in blocks {
                let joined = block.replacingOccurrences(of: "\\\n", with: " ").replacingOccurrences(
                    of: "107.173.87.55", with: "203.0.113.10")
                let words = joined.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
                if joined.hasPrefix("podman network create") { network = Array(words.dropFirst()) }
                if joined.hasPrefix("podman container run") { containers.append(Array(words.dropFirst())) }
                if joined.hasPrefix("# ordering ") {
                    let lines = block.split(separator: "\n").map(String.init)
                    ordering[String(lines[0].dropFirst("# ordering ".count))] = (lines[1], lines[2])
                }
            }
            return (network, containers, ordering)
        }

        @Test func thirteenContainersFlagForFlag() throws {
            let guide = try Self.guideCommands()
            let desired = try Fixtures.compileSeedGuide().desired
            #expect(guide.containers.count == 13)
            #expect(desired.containers.count == 13)
            for expected in guide.containers {
                let name = try #require(expected.first { $0.hasPrefix("--name=") }).dropFirst("--name=".count)
                let rendered = try #require(desired.container(named: String(name)), "no container \(name)")
                // Mailroom may add only its own, documented labels.
                let added = rendered.arguments.filter { $0.hasPrefix("--label=mailroom.") }
                #expect(added == ["--label=mailroom.managed=true"])
                let withoutOwnLabels = rendered.arguments.filter { !$0.hasPrefix("--label=mailroom.") }
                #expect(withoutOwnLabels == expected, "\(name) differs from the guide")
            }
        }

        @Test func networkCommandMatches() throws {
            let guide = try Self.guideCommands()
            #expect(try Fixtures.compileSeedGuide().desired.network.arguments == guide.network)
        }

        @Test func containersStartInTheGuidesOrder() throws {
            // Spec order is the guide's order of commands.
            let guide = try Self.guideCommands()
            let names = guide.containers.map { $0.first { $0.hasPrefix("--name=") }!.dropFirst(7) }.map(String.init)
            #expect(try Fixtures.compileSeedGuide().desired.containers.map(\.name) == names)
        }

        @Test func unitsCarryTheGuidesOrderingSection() throws {
            let guide = try Self.guideCommands()
            let units = try Fixtures.compileSeedGuide().desired.units
            #expect(guide.ordering.count == 10)
            for unit in units {
                let name = String(unit.path.split(separator: "/").last!)
                let lines = unit.content.split(separator: "\n").map(String.init)
                let unitSection = lines.prefix { $0 != "[Service]" }
                let ordering = unitSection.filter { ($0.hasPrefix("After=container-") || $0.hasPrefix("Requires=")) }
                if let expected = guide.ordering[name] {
                    #expect(ordering == [expected.after, expected.requires], "\(name)")
                } else {
                    // caddy2, mailu-resolver and mailu-webdav have no ordering in the guide.
                    #expect(ordering.isEmpty, "\(name) should have no After=/Requires= of containers")
                }
            }
        }

        /// The fixture is the guide's own text; checked whenever the guide sits beside the repository
        /// (the development checkout, ../shared/seed). A clone elsewhere, as in CI, has no guide to
        /// compare with; the parity tests above still run against the fixture.
        @Test(
            .enabled(
                if: FileManager.default.fileExists(atPath: Self.guidePath),
                "the guide is not beside this checkout (../shared/seed)"))
        func fixtureIsVerbatimFromTheGuide() throws {
            let guide = try String(contentsOfFile: Self.guidePath, encoding: .utf8)
            let fixture = try String(
                contentsOfFile: Fixtures.repositoryRoot + "/Tests/MailroomTests/Fixtures/guide-commands.txt",
                encoding: .utf8)
            for block in fixture.components(separatedBy: "\n\n") where block.hasPrefix("podman") {
                #expect(guide.contains(block), "fixture block not in the guide: \(block.prefix(60))")
            }
        }

        static var guidePath: String { Fixtures.repositoryRoot + "/../shared/seed/mailu-podman-guide.zh.md" }

        @Test func disabledComponentsDropContainerAddressAndEdges() throws {
            let compiled = try Fixtures.compile(directory: Fixtures.minimal, secret: "k", unitsDirectory: "/u")
            let names = compiled.desired.containers.map(\.name)
            for gone in ["mailu-antivirus", "mailu-webdav", "mailu-fetchmail"] { #expect(!names.contains(gone)) }
            let antispam = try #require(compiled.desired.container(named: "mailu-antispam"))
            #expect(antispam.dependsOn == ["mailu-front", "mailu-redis", "mailu-oletools", "mailu-resolver"])
            let env = try #require(compiled.desired.files.first { $0.path.hasSuffix("mailu.env") }).content
            #expect(!env.contains("ANTIVIRUS_ADDRESS"))
            #expect(!env.contains("WEBDAV_ADDRESS"))
            #expect(env.contains("ANTIVIRUS=none"))
            #expect(env.contains("FETCHMAIL_ENABLED=False"))
            // No IPv6 subnet in this spec: no --ip6 anywhere.
            #expect(!compiled.desired.containers.flatMap(\.arguments).contains { $0.hasPrefix("--ip6=") })
        }

        @Test func resolverOffDropsDNSFlags() throws {
            var text = try String(contentsOfFile: Fixtures.seedGuide + "/mailroom.yaml", encoding: .utf8)
            text = text.replacingOccurrences(of: "    resolver: true", with: "    resolver: false")
            let compiled = try Fixtures.compile(text, secret: "k", unitsDirectory: "/u")
            #expect(compiled.desired.container(named: "mailu-resolver") == nil)
            #expect(!compiled.desired.containers.flatMap(\.arguments).contains { $0.hasPrefix("--dns=") })
            #expect(compiled.desired.container(named: "mailu-front")?.dependsOn == [])
        }
    }
}
