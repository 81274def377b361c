import Foundation
import Testing

@testable import MailroomSpec
@testable import MailroomSupport

extension PureTests {
    /// One test per class of spec error: each names the file, line, column and field, and an
    /// invalid spec renders nothing.
    @Suite(.tags(.pure)) struct ValidationTests {
        static let base = """
            network:
              name: mail
              subnet: 10.91.0.0/24
              gateway: 10.91.0.1
            domains: [example.org]
            mailu:
              hostnames: [mail.example.org]
              public_ipv4: 198.51.100.7
            caddy:
              email: hostmaster@example.org

            """

        /// The one diagnostic of `text`, which must have exactly one.
        func single(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> SpecDiagnostic
        {
            let diagnostics = Fixtures.diagnostics(text)
            #expect(diagnostics.count == 1, "\(diagnostics)", sourceLocation: sourceLocation)
            return try #require(diagnostics.first, sourceLocation: sourceLocation)
        }

        @Test func baseIsValid() {
            #expect(Fixtures.diagnostics(Self.base).isEmpty)
        }

        @Test func invalidYAML() throws {
            let d = try single(Self.base + "containers:\n  mailu-front: [unclosed\n")
            #expect(d.code == .invalidYAML)
            #expect(d.location.line >= 11)
            #expect(d.location.file == "mailroom.yaml")
        }

        @Test func unknownKeySuggestsTheClosest() throws {
            let d = try single(Self.base.replacingOccurrences(of: "mailu:\n", with: "mailu:\n  postmastr: admin\n"))
            #expect(d.code == .unknownKey)
            #expect(d.field == "mailu.postmastr")
            #expect(d.location.line == 7 && d.location.column == 3)
            #expect(d.hint == "did you mean 'postmaster'?")
        }

        @Test func wrongType() throws {
            let d = try single(
                Self.base.replacingOccurrences(of: "domains: [example.org]", with: "domains: example.org"))
            #expect(d.code == .wrongType)
            #expect(d.field == "domains")
            #expect(d.location.line == 5)
            #expect(d.message.contains("expected a list"))
        }

        @Test func duplicateContainerNames() throws {
            let d = try single(
                Self.base + "containers:\n  mailu-front:\n    memory: 1g\n  mailu-front:\n    memory: 2g\n")
            #expect(d.code == .duplicateName)
            #expect(d.message.contains("mailu-front"))
            #expect(d.location.line >= 11)
        }

        @Test func duplicateIPs() throws {
            let d = try single(Self.base + "containers:\n  mailu-smtp:\n    ip: 10.91.0.32\n")
            #expect(d.code == .duplicateAddress)
            #expect(d.field == "containers.mailu-smtp.ip")
            #expect(d.location.line == 13 && d.location.column == 9)
        }

        @Test func ipOutsideTheSubnet() throws {
            let d = try single(Self.base + "containers:\n  mailu-smtp:\n    ip: 10.92.0.37\n")
            #expect(d.code == .addressOutsideSubnet)
            #expect(d.location.line == 13)
        }

        @Test func ipEqualToTheGateway() throws {
            let d = try single(Self.base + "containers:\n  mailu-smtp:\n    ip: 10.91.0.1\n")
            #expect(d.code == .addressIsGateway)
            #expect(d.field == "containers.mailu-smtp.ip")
        }

        @Test func publishedPortCollision() throws {
            let d = try single(
                Self.base
                    + "containers:\n  extra:\n    image: docker.io/library/nginx:1.27\n    ports: [\"198.51.100.7:25:8025/tcp\"]\n"
            )
            #expect(d.code == .portCollision)
            #expect(d.field == "containers.extra.ports")
            #expect(d.location.line == 14)
            #expect(d.message.contains("25/tcp"))
        }

        @Test func unknownDependency() throws {
            let d = try single(Self.base + "containers:\n  mailu-webmail:\n    depends_on: [mailu-frnt]\n")
            #expect(d.code == .unknownDependency)
            #expect(d.hint == "did you mean 'mailu-front'?")
            #expect(d.location.line == 13)
        }

        @Test func cyclicDependency() throws {
            let d = try single(
                Self.base
                    + "containers:\n  mailu-webdav:\n    depends_on: [mailu-webmail]\n  mailu-webmail:\n    depends_on: [mailu-webdav]\n"
            )
            #expect(d.code == .dependencyCycle)
            #expect(d.message.contains("mailu-webdav → mailu-webmail → mailu-webdav"))
            #expect(d.location.line == 13)
        }

        @Test(arguments: ["exa mple.org", "example.org}", "../etc", "example.org\\nfoo", "-bad.example.org", "a..b"])
        func domainsMustBeStrictHostnames(_ domain: String) throws {
            let text = Self.base.replacingOccurrences(of: "domains: [example.org]", with: "domains: [\"\(domain)\"]")
            let d = try single(text)
            #expect(d.code == .invalidHostname)
            #expect(d.field == "domains[0]")
            #expect(d.location.line == 5)
        }

        @Test func relativeHostPath() throws {
            let d = try single(Self.base + "containers:\n  mailu-smtp:\n    volumes: [\"queue/:/queue/\"]\n")
            #expect(d.code == .invalidPath)
            #expect(d.message.contains("relative"))
            #expect(d.location.line == 13)
        }

        @Test func hostPathWithDotDot() throws {
            let d = try single(
                Self.base.replacingOccurrences(of: "mailu:\n", with: "mailu:\n  root: /srv/mail/../etc\n"))
            #expect(d.code == .invalidPath)
            #expect(d.field == "mailu.root")
            #expect(d.location.line == 7)
        }

        @Test func envValueWithNewline() throws {
            let d = try single(Self.base + "containers:\n  mailu-smtp:\n    env:\n      BAD: \"one\\ntwo\"\n")
            #expect(d.code == .invalidEnv)
            #expect(d.field == "containers.mailu-smtp.env.BAD")
            #expect(d.location.line == 14)
        }

        @Test func envValueWithNulInTheMailuSection() throws {
            let d = try single(
                Self.base.replacingOccurrences(of: "mailu:\n", with: "mailu:\n  site_name: \"Mail\\0x\"\n"))
            #expect(d.code == .invalidEnv)
            #expect(d.field == "mailu.site_name")
        }

        @Test func imageWithoutTag() throws {
            let d = try single(Self.base + "containers:\n  mailu-smtp:\n    image: ghcr.io/mailu/postfix\n")
            #expect(d.code == .imageWithoutTag)
            #expect(d.location.line == 13)
            #expect(d.hint?.contains("ghcr.io/mailu/postfix:TAG") == true)
        }

        @Test func everyCycleThroughAContainerIsNamed() {
            // resolver → admin → redis → resolver and resolver → admin → resolver.
            let diagnostics = Fixtures.diagnostics(
                Self.base + "containers:\n  mailu-resolver:\n    depends_on: [mailu-admin]\n")
            #expect(diagnostics.count == 2)
            #expect(diagnostics.allSatisfy { $0.code == .dependencyCycle && $0.location.line == 13 })
        }

        @Test func missingRequiredField() throws {
            let d = try single(Self.base.replacingOccurrences(of: "  public_ipv4: 198.51.100.7\n", with: ""))
            #expect(d.code == .missingField)
            #expect(d.field == "mailu.public_ipv4")
        }

        @Test func everyProblemIsReportedAtOnce() {
            let text =
                Self.base.replacingOccurrences(of: "domains: [example.org]", with: "domains: [\"bad domain\"]")
                + "containers:\n  mailu-smtp:\n    ip: 10.92.0.37\n    image: nope\n    colour: red\n"
            let codes = Set(Fixtures.diagnostics(text).map(\.code))
            #expect(codes == [.invalidHostname, .addressOutsideSubnet, .imageWithoutTag, .unknownKey])
        }

        @Test func errorTextNamesFileLineFieldAndFix() throws {
            do {
                _ = try Fixtures.compile(
                    Self.base + "containers:\n  mailu-smtp:\n    imagee: x\n", file: "specs/mailroom.yaml")
                Issue.record("expected an error")
            } catch let error as SpecError {
                #expect(
                    error.description.contains(
                        "specs/mailroom.yaml:13:5: containers.mailu-smtp.imagee: unknown key 'imagee' (did you mean 'image'?)"
                    ))
            }
        }
    }
}
