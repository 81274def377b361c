import Foundation
import Testing

@testable import MailroomHost
@testable import MailroomPlan
@testable import MailroomSupport
@testable import MailroomTestSupport

extension CLITests {
    /// `--host` picks a host's share; `diff --all-hosts` shows a container moving between hosts
    /// as a removal on one and a creation on the other.
    @Test func hostsShareAndDiffAllHosts() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func git(_ arguments: [String]) async throws {
            let result = try await ProcessRunner().run(
                [
                    "/usr/bin/git", "-C", dir + "/work", "-c", "user.name=t", "-c", "user.email=t@example.com",
                    "-c", "init.defaultBranch=main",
                ] + arguments)
            #expect(result.succeeded, "git \(arguments): \(result.stderrText)")
        }
        let spec = try String(
            contentsOfFile: Fixtures.repositoryRoot + "/examples/two-hosts/mailroom.yaml", encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir + "/work", withIntermediateDirectories: true)
        try await git(["init", "-q"])
        try spec.write(toFile: dir + "/work/mailroom.yaml", atomically: true, encoding: .utf8)
        try await git(["add", "."])
        try await git(["commit", "-qm", "two hosts"])
        try spec.replacingOccurrences(of: "mailu-oletools]", with: "mailu-oletools, mailu-webdav]")
            .write(toFile: dir + "/work/mailroom.yaml", atomically: true, encoding: .utf8)
        try await git(["commit", "-qam", "webdav to scan"])
        let state = ["--state-dir", dir + "/state", "--units-dir", dir + "/units"]

        let scan = try await Self.run(["validate", dir + "/work", "--host", "scan"] + state.prefix(2))
        #expect(scan.succeeded, "\(scan.stderrText)")
        #expect(scan.stdoutText.contains("(4 containers, 1 files)"))
        // Without --host (CI, a laptop: no host of the spec), every host is checked.
        let every = try await Self.run(["validate", dir + "/work"] + state.prefix(2))
        #expect(every.succeeded, "\(every.stderrText)")
        #expect(every.stdoutText.contains(", every host: mail, scan)"), "\(every.stdoutText)")
        try spec.replacingOccurrences(of: "mailu-oletools]", with: "mailu-oletools, mailu-fetchmail]")
            .write(toFile: dir + "/broken.yaml", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir + "/broken", withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: dir + "/broken.yaml", toPath: dir + "/broken/mailroom.yaml")
        let broken = try await Self.run(["validate", dir + "/broken"] + state.prefix(2))
        #expect(broken.status == 1)
        #expect(broken.stderrText.contains("fetchmail reads a directory of admin's data"), "\(broken.stderrText)")
        let nowhere = try await Self.run(["validate", dir + "/work", "--host", "nowhere"] + state.prefix(2))
        #expect(nowhere.status == 1)
        #expect(nowhere.stderrText.contains("mailroom.yaml:9:3: hosts: --host nowhere is none of the spec's hosts"))

        let diff = try await Self.run(["diff", "--repo", dir + "/work", "main~1", "main", "--all-hosts"] + state)
        #expect(diff.status == 2, "\(diff.stderrText)")
        let text = diff.stdoutText
        let mailPart = try #require(text.range(of: "(host mail)")).upperBound
        let scanPart = try #require(text.range(of: "(host scan)")).lowerBound
        #expect(mailPart < scanPart)
        #expect(text[mailPart..<scanPart].contains("- container mailu-webdav"))
        #expect(text[scanPart...].contains("+ container mailu-webdav"))
        // WEBDAV_ADDRESS moved: mailu.env changes on both hosts.
        #expect(text[mailPart..<scanPart].contains("mailu.env"))
        #expect(text[scanPart...].contains("mailu.env"))

        let one = try await Self.run(["diff", "--repo", dir + "/work", "main~1", "main", "--host", "scan"] + state)
        #expect(one.status == 2)
        #expect(one.stdoutText.contains("+ container mailu-webdav") && !one.stdoutText.contains("(host mail)"))
    }
}
