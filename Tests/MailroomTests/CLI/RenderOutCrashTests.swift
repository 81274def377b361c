import Foundation
import Testing

@testable import MailroomHost
@testable import MailroomRender
@testable import MailroomSupport
@testable import MailroomTestSupport

/// `render --out` writes every file in one batch: after a crash at any point, every generated
/// file holds its old content or its new one. The crash is injected (`MAILROOM_FAULT`, debug
/// builds only) before the first, a middle and the last rename, so the verdict does not depend
/// on when a signal would land.
@Suite("render --out survives a crash at any rename; the next render removes its temporaries")
struct RenderOutCrashTests {
    static func spec(email: String, version: String, domains: Int) -> String {
        let names = (0..<domains).map { "d\($0).example.org" }.joined(separator: ", ")
        return TestSpecs.minimal
            .replacingOccurrences(of: "domains: [example.org]", with: "domains: [example.org, \(names)]")
            .replacingOccurrences(of: "admin@example.org", with: email)
            .replacingOccurrences(of: "mailu:\n", with: "mailu:\n  version: \"\(version)\"\n")
    }

    @Test("a crash before the first, a middle or the last rename leaves every file old or new")
    func everyFileIsOldOrNew() async throws {
        let root = NSTemporaryDirectory() + "mailroom-render-crash-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let old = Self.spec(email: "old@example.org", version: "2.0", domains: 200)
        let new = Self.spec(email: "new@example.org", version: "2.1", domains: 200)
        let compile = { (text: String) in try Fixtures.compile(text, unitsDirectory: "/etc/systemd/system").desired }
        let oldFiles = try compile(old)
        let newFiles = try compile(new)
        let oldContent = Dictionary(
            (oldFiles.files + oldFiles.units).map { ($0.path, $0.content) }, uniquingKeysWith: { a, _ in a })
        let newContent = Dictionary(
            (newFiles.files + newFiles.units).map { ($0.path, $0.content) }, uniquingKeysWith: { a, _ in a })
        #expect(Set(oldContent.keys) == Set(newContent.keys))
        let changed = newContent.filter { oldContent[$0.key] != $0.value }.count
        #expect(changed > 200, "the two specs must differ in most files for the test to mean something")

        for crashAt in [1, newContent.count / 2, newContent.count] {
            let out = "\(root)/\(crashAt)"
            try FileManager.default.createDirectory(atPath: out + "/spec", withIntermediateDirectories: true)
            try old.write(toFile: out + "/spec/mailroom.yaml", atomically: true, encoding: .utf8)
            try "SECRET_KEY=s3cret\n".write(toFile: out + "/secrets.env", atomically: true, encoding: .utf8)
            chmod(out + "/secrets.env", 0o600)
            let first = try await MailroomBinary.run(
                ["render", out + "/spec", "--out", out + "/root"], host: Self.host(out))
            try #require(first.status == 0, "\(first.stderrText)")
            try new.write(toFile: out + "/spec/mailroom.yaml", atomically: true, encoding: .utf8)
            let crashed = try await MailroomBinary.run(
                ["render", out + "/spec", "--out", out + "/root"], host: Self.host(out),
                environment: ["MAILROOM_FAULT": "file.rename:\(crashAt)"])
            #expect(crashed.status == FaultInjection.exitStatus, "crash at rename \(crashAt): \(crashed.stderrText)")

            var renamed = 0
            for (path, newText) in newContent {
                let text = try String(contentsOfFile: out + "/root" + path, encoding: .utf8)
                #expect(
                    text == newText || text == oldContent[path],
                    "\(path) is neither old nor new after a crash at \(crashAt)")
                if text == newText && text != oldContent[path] { renamed += 1 }
            }
            // Renames before the crash took effect, none after it.
            #expect(renamed <= crashAt - 1)
            let leftovers = try FileManager.default.subpathsOfDirectory(atPath: out + "/root").filter {
                $0.contains(".mailroom-")
            }
            #expect(
                leftovers.count == newContent.count - (crashAt - 1),
                "temporaries of the files not yet renamed stay behind")

            // The next render removes them (and only them): every file new, no temporary left.
            let foreign = out + "/root/podmandirectory/.notes.mailroom-draft"
            try "mine".write(toFile: foreign, atomically: false, encoding: .utf8)
            let again = try await MailroomBinary.run(
                ["render", out + "/spec", "--out", out + "/root"], host: Self.host(out))
            #expect(again.status == 0, "\(again.stderrText)")
            for (path, newText) in newContent {
                #expect(try String(contentsOfFile: out + "/root" + path, encoding: .utf8) == newText)
            }
            let after = try FileManager.default.subpathsOfDirectory(atPath: out + "/root").filter {
                $0.contains(".mailroom-")
            }
            #expect(after == ["podmandirectory/.notes.mailroom-draft"], "left after the next render: \(after)")
        }
    }

    @Test("render --out writes the site of a domain at the DNS limit, under a name a file system takes")
    func longestDomainIsWritten() async throws {
        let root = NSTemporaryDirectory() + "mailroom-render-long-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        // autoconfig.<domain> is 253 characters, the most a DNS name has.
        let domain =
            zip(["a", "b", "c", "d"], [60, 60, 60, 55]).map { String(repeating: $0, count: $1) }
            .joined(separator: ".") + ".org"
        #expect(("autoconfig." + domain).count == 253)
        try FileManager.default.createDirectory(atPath: root + "/spec", withIntermediateDirectories: true)
        try TestSpecs.minimal.replacingOccurrences(of: "[example.org]", with: "[\(domain), example.org]")
            .write(toFile: root + "/spec/mailroom.yaml", atomically: true, encoding: .utf8)
        let result = try await MailroomBinary.run(
            ["render", root + "/spec", "--out", root + "/out"], host: Self.host(root))
        #expect(result.status == 0, "\(result.stderrText)")
        let sites = try FileManager.default.contentsOfDirectory(
            atPath: root + "/out/podmandirectory/caddy2/config/site")
        let long = try #require(sites.first { $0.hasPrefix("site-") })
        #expect(long.utf8.count < 255 && sites.contains("autoconfig.example.org.Caddyfile"))
        let text = try String(contentsOfFile: root + "/out/podmandirectory/caddy2/config/site/" + long, encoding: .utf8)
        #expect(text.hasPrefix("autoconfig.\(domain) {"))
    }

    static func host(_ root: String) -> HostPaths {
        HostPaths(
            stateDirectory: root + "/state", unitsDirectory: "/etc/systemd/system", secretsFile: root + "/secrets.env")
    }
}
