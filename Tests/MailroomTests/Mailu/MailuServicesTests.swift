import Testing

@testable import MailroomMailu
@testable import MailroomSpec

extension PureTests {
    /// The service table is the single place for each container's facts; what derives from it
    /// matches the guide.
    @Suite("Mailu service table", .tags(.pure))
    struct MailuServicesTests {
        @Test("the directories are the guide's mkdir -p list")
        func directoriesAreTheGuides() throws {
            let directories = try Fixtures.compileSeedGuide().desired.directories
            let guide = [
                "caddy2/config/site/", "caddy2/config/reuse/", "caddy2/data/", "mailu/certs/", "mailu/overrides/nginx/",
                "mailu/redis/", "mailu/data/", "mailu/dkim/", "mailu/mail/", "mailu/overrides/dovecot/",
                "mailu/mailqueue/",
                "mailu/overrides/postfix/", "filter/", "mailu/overrides/rspamd/", "mailu/dav/", "mailu/data/fetchmail/",
                "mailu/webmail/", "mailu/overrides/roundcube/",
            ].map { $0.hasPrefix("filter") ? "/unbackupdirectory/mailu/" + $0 : "/podmandirectory/" + $0 }
            #expect(Set(directories) == Set(guide) && directories.count == guide.count)
        }

        @Test("a component switched off takes its directories with it")
        func disabledComponentsMakeNoDirectories() throws {
            // examples/minimal turns off antivirus, webdav and fetchmail; antispam still uses the filter directory.
            let directories = try Fixtures.compile(directory: Fixtures.minimal).desired.directories
            #expect(!directories.contains { $0.hasSuffix("/dav/") || $0.hasSuffix("/data/fetchmail/") })
            #expect(directories.contains { $0.hasSuffix("/filter/") })
        }

        @Test("every *_ADDRESS line belongs to one service, and every service address has a line")
        func addressVariablesComeFromTheTable() {
            let variables = MailuProfile.services.compactMap(\.addressVariable)
            #expect(
                Set(variables) == Set(MailuProfile.addressOrder) && variables.count == MailuProfile.addressOrder.count)
            #expect(MailuProfile.resolver.name == "mailu-resolver" && MailuProfile.resolver.hostNumber == 34)
        }
    }
}
