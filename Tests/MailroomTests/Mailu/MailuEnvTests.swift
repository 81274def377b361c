import Foundation
import Testing

@testable import MailroomMailu
@testable import MailroomRender
@testable import MailroomSpec

extension PureTests {
    /// mailu.env as the seed guide renders it: the guide's answers, address order, redaction, extra env.
    @Suite(.tags(.pure)) struct MailuEnvTests {
        static func env() throws -> String {
            try #require(
                Fixtures.compileSeedGuide(secret: "0123456789abcdef").desired.files.first {
                    $0.path == "/podmandirectory/mailu/mailu.env"
                }
            ).content
        }

        static func values(_ text: String) -> [String: String] {
            var result: [String: String] = [:]
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                result[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
            return result
        }

        @Test func guideAnswersAndMustChangeKeys() throws {
            let v = Self.values(try Self.env())
            let expected: [String: String] = [
                "SECRET_KEY": "0123456789abcdef", "SUBNET": "10.90.0.0/16", "DOMAIN": "example.com",
                "HOSTNAMES": "mail.example.com",
                "POSTMASTER": "postmaster", "TLS_FLAVOR": "mail-letsencrypt", "AUTH_RATELIMIT_IP": "5/hour",
                "AUTH_RATELIMIT_USER": "50/day", "DISABLE_STATISTICS": "True", "ADMIN": "true", "WEBMAIL": "roundcube",
                "API": "false",
                "WEBDAV": "radicale", "ANTIVIRUS": "clamav", "SCAN_MACROS": "true", "MESSAGE_SIZE_LIMIT": "50000000",
                "FETCHMAIL_ENABLED": "True", "WELCOME": "true", "WELCOME_SUBJECT": "欢迎使用小汐企业邮局服务",
                "SITENAME": "小汐个人邮局服务", "WEBSITE": "https://mail.example.com", "WEBROOT_REDIRECT": "/webmail",
                "REAL_IP_HEADER": "X-Real-IP", "REAL_IP_FROM": "10.90.0.0/16,fd00::1:8:0/112", "TZ": "Asia/Shanghai",
                "ADMIN_ADDRESS": "10.90.0.35", "ANTISPAM_ADDRESS": "10.90.0.39", "ANTIVIRUS_ADDRESS": "10.90.0.40",
                "FRONT_ADDRESS": "10.90.0.32", "IMAP_ADDRESS": "10.90.0.36", "REDIS_ADDRESS": "10.90.0.33",
                "SMTP_ADDRESS": "10.90.0.37",
                "WEBDAV_ADDRESS": "10.90.0.41", "WEBMAIL_ADDRESS": "10.90.0.43", "RESOLVER_ADDRESS": "10.90.0.34",
                "OLETOOLS_ADDRESS": "10.90.0.38", "FETCHMAIL_ADDRESS": "10.90.0.42", "SESSION_COOKIE_SECURE": "True",
                "SESSION_TIMEOUT": "108000", "PERMANENT_SESSION_LIFETIME": "31536000",
                "ROUNDCUBE_PLUGINS":
                    "archive,carddav,emoticons,enigma,mailu,managesieve,markasjunk,newmail_notifier,zipdownload",
                "LOGO_BACKGROUND": "", "LOGO_URL": "", "API_TOKEN": "",
            ]
            for (key, value) in expected { #expect(v[key] == value, "\(key)") }
            // Mailu's IPv6 answer is "no" in the guide: no SUBNET6 line.
            #expect(v["SUBNET6"] == nil)
        }

        @Test func addressesFollowTheGuidesOrder() throws {
            let keys = try Self.env().split(separator: "\n").compactMap { line -> String? in
                let key = line.split(separator: "=").first.map(String.init) ?? ""
                return key.hasSuffix("_ADDRESS") ? key : nil
            }
            #expect(keys == MailuProfile.addressOrder)
        }

        @Test func secretsAreRedactedForDisplay() throws {
            let file = try #require(
                Fixtures.compileSeedGuide(secret: "topsecretvalue").desired.files.first {
                    $0.path.hasSuffix("mailu.env")
                })
            #expect(file.mode == 0o600)
            #expect(file.content.contains("SECRET_KEY=topsecretvalue"))
            #expect(!file.displayContent.contains("topsecretvalue"))
            #expect(file.displayContent.contains("SECRET_KEY=(secret)"))
        }

        @Test func extraEnvReplacesInPlaceOrAppends() throws {
            var text = try String(contentsOfFile: Fixtures.seedGuide + "/mailroom.yaml", encoding: .utf8)
            text = text.replacingOccurrences(
                of: "  timezone: Asia/Shanghai\n",
                with:
                    "  timezone: Asia/Shanghai\n  env:\n    RELAYHOST: \"[smtp.example.net]:587\"\n    FULL_TEXT_SEARCH: \"off\"\n"
            )
            let compiled = try Fixtures.compile(text, file: "m.yaml", secret: "k", unitsDirectory: "/u")
            let env = try #require(compiled.desired.files.first { $0.path.hasSuffix("mailu.env") }).content
            #expect(env.contains("RELAYHOST=[smtp.example.net]:587"))
            #expect(env.components(separatedBy: "RELAYHOST=").count == 2)
            #expect(env.hasSuffix("FULL_TEXT_SEARCH=off\n"))
        }
    }
}

/// The secrets file on disk: a file others can read is refused.
@Suite(.tags(.os)) struct SecretsFileTests {
    @Test func secretsFileMustBePrivate() throws {
        let path = NSTemporaryDirectory() + "mailroom-secrets-\(getpid())"
        try "SECRET_KEY=abc\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        chmod(path, 0o644)
        let open = SecretValues.load(path: path, required: ["SECRET_KEY"], extraKeys: [])
        #expect(open.values.isEmpty)
        #expect(open.problem?.contains("chmod 600") == true)
        chmod(path, 0o600)
        let closed = SecretValues.load(path: path, required: ["SECRET_KEY"], extraKeys: [])
        #expect(closed["SECRET_KEY"] == "abc")
        #expect(closed.problem == nil)
    }
}
