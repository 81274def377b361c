import Foundation
import Testing

@testable import MailroomSource
@testable import MailroomSupport
@testable import MailroomTestSupport

@Suite("Source: git mirror and spec reading", .tags(.git))
struct GitSourceTests {
    @Test("bare clone from a local path, then read and parse mailroom.yaml")
    func cloneLocalPath() throws {
        let f = try SourceFixture()
        defer { f.remove() }
        let source = try f.source()
        let result = try source.fetch(logger: f.logs.logger)
        #expect(result.commit.hex == (try f.repo.head()))
        #expect(result.previous == nil)
        #expect(result.specChanged)
        #expect(!result.forced)
        #expect(result.snapshot.files.keys.sorted() == ["mailroom.yaml"])
        let spec = try Fixtures.compiler().read(result.snapshot.spec)
        #expect(spec.network.name == "mailu")
        // A bare mirror, with the remote's branches as its own.
        #expect(FileManager.default.fileExists(atPath: f.stateDirectory + "/mirror.git/HEAD"))
        #expect(!FileManager.default.fileExists(atPath: f.stateDirectory + "/mirror.git/.git"))
        #expect(
            try ScratchRepository.git(["rev-parse", "refs/heads/main"], in: f.stateDirectory + "/mirror.git")
                .trimmingCharacters(in: .whitespacesAndNewlines) == result.commit.hex)
    }

    @Test("bare clone from a file:// URL")
    func cloneFileURL() throws {
        let f = try SourceFixture()
        defer { f.remove() }
        let source = try f.source(url: "file://" + f.repo.origin)
        let result = try source.fetch(logger: f.logs.logger)
        #expect(result.commit.hex == (try f.repo.head()))
        #expect(source.configuration.repository.localPath == f.repo.origin)
    }

    @Test("a fetch after a new commit sees it; a fetch without one changes nothing")
    func fetchAfterNewCommit() throws {
        let f = try SourceFixture()
        defer { f.remove() }
        let source = try f.source()
        let first = try source.fetch(logger: f.logs.logger)
        let again = try source.fetch(logger: f.logs.logger)
        #expect(!again.isNewCommit)
        #expect(!again.specChanged)
        let second = try f.repo.commitAndPush(["mailroom.yaml": TestSpecs.minimal + "# edited\n"], message: "edit")
        let result = try source.fetch(logger: f.logs.logger)
        #expect(result.commit.hex == second)
        #expect(result.previous == first.commit)
        #expect(result.isNewCommit)
        #expect(result.specChanged)
        #expect(!result.forced)
        #expect(try source.state()?.lastFetched?.commit.hex == second)
    }

    @Test("a mirror removed by hand is cloned again on the next fetch")
    func removedMirrorRecloned() throws {
        let f = try SourceFixture()
        defer { f.remove() }
        let source = try f.source()
        let first = try source.fetch(logger: f.logs.logger)
        try FileManager.default.removeItem(atPath: f.stateDirectory + "/mirror.git")
        let pushed = try f.repo.commitAndPush(["x.txt": "x\n"], message: "x")
        let again = try source.fetch(logger: f.logs.logger)
        #expect(again.commit.hex == pushed)
        #expect(again.previous == first.commit)
        #expect(!again.forced)
    }

    @Test(
        "a corrupted mirror (objects gone, refs garbled) is reported, then cloned again on its own: the next fetch works",
        arguments: ["objects", "HEAD"])
    func corruptedMirrorRecloned(_ damage: String) throws {
        let f = try SourceFixture()
        defer { f.remove() }
        let source = try f.source()
        let first = try source.fetch(logger: f.logs.logger)
        let mirror = f.stateDirectory + "/mirror.git"
        switch damage {
        case "objects":
            // Every object and pack gone: the refs point at nothing.
            for name in try FileManager.default.contentsOfDirectory(atPath: mirror + "/objects") {
                try FileManager.default.removeItem(atPath: mirror + "/objects/" + name)
            }
        default:
            try "garbage\n".write(toFile: mirror + "/HEAD", atomically: false, encoding: .utf8)
        }
        let pushed = try f.repo.commitAndPush(["x.txt": "x\n"], message: "x")
        let again = try source.fetch(logger: f.logs.logger)
        #expect(again.commit.hex == pushed)
        #expect(again.previous == first.commit)
        #expect(
            f.logs.messages(at: .warning).contains { $0.contains("mirror") },
            "\(f.logs.messages(at: .warning))")
    }

    @Test("a remote gone for a while: each fetch names it, the mirror and state are kept; once back, fetches work")
    func remoteGoneThenBack() throws {
        let f = try SourceFixture()
        defer { f.remove() }
        let source = try f.source(url: "file://" + f.repo.origin)
        let first = try source.fetch(logger: f.logs.logger)
        let state = f.stateDirectory + "/source-state.json"
        let saved = FileManager.default.contents(atPath: state)
        let pushed = try f.repo.commitAndPush(["x.txt": "x\n"], message: "x")
        try FileManager.default.moveItem(atPath: f.repo.origin, toPath: f.repo.origin + ".away")
        for _ in 0..<3 {
            let error = gitError { try source.fetch(logger: f.logs.logger) }
            #expect(error?.code == .unreachable && error?.message.contains(f.repo.origin) == true)
        }
        #expect(FileManager.default.contents(atPath: state) == saved)
        #expect(try source.snapshot(at: first.commit.hex).specText == TestSpecs.minimal)
        try FileManager.default.moveItem(atPath: f.repo.origin + ".away", toPath: f.repo.origin)
        let back = try source.fetch(logger: f.logs.logger)
        #expect(back.commit.hex == pushed && back.previous == first.commit && !back.forced)
    }

    @Test("a pinned commit id and a pinned tag are read from their own trees")
    func pinnedRevision() throws {
        let f = try SourceFixture()
        defer { f.remove() }
        let first = try f.repo.head()
        try f.repo.git("tag", "-a", "v1", "-m", "release 1")
        try f.repo.git("push", "--quiet", "origin", "v1")
        try f.repo.commitAndPush(["mailroom.yaml": TestSpecs.minimal + "# v2\n"], message: "v2")

        let byCommit = try f.source(revision: first).fetch(logger: f.logs.logger)
        #expect(byCommit.commit.hex == first)
        #expect(byCommit.snapshot.specText == TestSpecs.minimal)

        let byShortCommit = try f.source(revision: String(first.prefix(10))).fetch(logger: f.logs.logger)
        #expect(byShortCommit.commit.hex == first)

        let byTag = try f.source(revision: "v1").fetch(logger: f.logs.logger)
        #expect(byTag.commit.hex == first)  // the annotated tag is peeled to its commit

        let byBranch = try f.source(revision: "main").fetch(logger: f.logs.logger)
        #expect(byBranch.snapshot.specText.hasSuffix("# v2\n"))

        let error = gitError { try f.source(revision: "v9").fetch(logger: f.logs.logger) }
        #expect(error?.code == .missingRevision)
        #expect(error?.message.contains("'v9'") == true)
    }

    @Test("files under the spec path, nested directories included, and nothing outside it")
    func readsSpecPathOnly() throws {
        let f = try SourceFixture(files: [
            "deploy/mailroom.yaml": TestSpecs.minimal,
            "deploy/overrides/postfix.cf": "smtpd_banner = hi\n",
            "README.md": "docs\n",
        ])
        defer { f.remove() }
        let snapshot = try f.source(path: "./deploy/").fetch(logger: f.logs.logger).snapshot
        #expect(snapshot.specPath == "deploy")
        #expect(snapshot.files.keys.sorted() == ["mailroom.yaml", "overrides/postfix.cf"])
        #expect(snapshot.files["overrides/postfix.cf"] == Data("smtpd_banner = hi\n".utf8))
        #expect(snapshot.location(of: "mailroom.yaml").hasSuffix(":deploy/mailroom.yaml"))
    }

    @Test("a change outside the spec path is seen but is no spec change; a change inside is")
    func treeDiffRestrictedToSpecPath() throws {
        let f = try SourceFixture(files: ["deploy/mailroom.yaml": TestSpecs.minimal, "README.md": "docs\n"])
        defer { f.remove() }
        let source = try f.source(path: "deploy")
        let first = try source.fetch(logger: f.logs.logger)

        let outside = try f.repo.commitAndPush(["README.md": "more docs\n"], message: "docs only")
        let seen = try source.fetch(logger: f.logs.logger)
        #expect(seen.commit.hex == outside)
        #expect(seen.isNewCommit)
        #expect(!seen.specChanged)
        #expect(seen.snapshot.tree == first.snapshot.tree)
        #expect(try source.diff(from: first.commit.hex, to: outside).changes.isEmpty)

        let inside = try f.repo.commitAndPush(
            ["deploy/extra.env": "A=1\n", "deploy/mailroom.yaml": TestSpecs.minimal + "# x\n"],
            message: "spec")
        let changed = try source.fetch(logger: f.logs.logger)
        #expect(changed.specChanged)
        let diff = try source.diff(from: outside, to: inside)
        #expect(diff.specChanged)
        #expect(
            diff.changes == [
                SpecFileChange(.added, path: "extra.env"), SpecFileChange(.modified, path: "mailroom.yaml"),
            ])

        try f.repo.git("mv", "deploy/extra.env", "deploy/renamed.env")
        try f.repo.git("commit", "--quiet", "-m", "rename")
        try f.repo.git("push", "--quiet", "origin", "main")
        _ = try source.fetch(logger: f.logs.logger)
        #expect(
            try source.diff(from: inside, to: "main").changes == [
                SpecFileChange(.renamed, path: "renamed.env", oldPath: "extra.env")
            ])
    }

    @Test("a force-push is reported, logged, and its new tip used")
    func forcePushDetected() throws {
        let f = try SourceFixture()
        defer { f.remove() }
        let source = try f.source()
        let base = try f.repo.head()
        try f.repo.commitAndPush(["a.txt": "a\n"], message: "a")
        let fast = try source.fetch(logger: f.logs.logger)
        #expect(!fast.forced)

        try f.repo.git("reset", "--quiet", "--hard", base)
        let rewritten = try f.repo.commit(["mailroom.yaml": TestSpecs.minimal + "# rewritten\n"], message: "rewrite")
        try f.repo.git("push", "--quiet", "--force", "origin", "main")
        let result = try source.fetch(logger: f.logs.logger)
        #expect(result.forced)
        #expect(result.commit.hex == rewritten)
        #expect(result.previous == fast.commit)
        #expect(result.specChanged)
        #expect(f.logs.messages(at: .warning).contains { $0.contains("force-pushed") })
        #expect(try source.state()?.lastFetched?.commit.hex == rewritten)

        // A normal push on top of the rewritten history is not forced.
        try f.repo.commitAndPush(["b.txt": "b\n"], message: "b")
        #expect(try !source.fetch(logger: f.logs.logger).forced)
    }

    @Test("a missing branch is named, with the branches that exist")
    func missingBranch() throws {
        let f = try SourceFixture()
        defer { f.remove() }
        let error = gitError { try f.source(branch: "production").fetch(logger: f.logs.logger) }
        #expect(error?.code == .missingBranch)
        #expect(error?.message.contains("'production'") == true)
        #expect(error?.hint?.contains("main") == true)
    }

    @Test("a missing spec path, a file as spec path, and a spec path without mailroom.yaml")
    func missingPath() throws {
        let f = try SourceFixture(files: ["deploy/mailroom.yaml": TestSpecs.minimal, "docs/x.md": "x\n"])
        defer { f.remove() }
        let missing = gitError { try f.source(path: "nowhere").fetch(logger: f.logs.logger) }
        #expect(missing?.code == .missingPath)
        #expect(missing?.message.contains("'nowhere'") == true)
        let file = gitError { try f.source(path: "docs/x.md").fetch(logger: f.logs.logger) }
        #expect(file?.code == .missingPath)
        let noSpec = gitError { try f.source(path: "docs").fetch(logger: f.logs.logger) }
        #expect(noSpec?.code == .missingSpecFile)
        let escape = gitError { try f.source(path: "../etc") }
        #expect(escape?.code == .invalidConfiguration)
    }

    @Test("a symbolic link inside the spec path is refused, naming it")
    func symlinkRejected() throws {
        let f = try SourceFixture(files: ["deploy/mailroom.yaml": TestSpecs.minimal])
        defer { f.remove() }
        try FileManager.default.createSymbolicLink(
            atPath: f.repo.work + "/deploy/passwd", withDestinationPath: "/etc/passwd")
        try f.repo.commitAndPush([:], message: "link")
        let error = gitError { try f.source(path: "deploy").fetch(logger: f.logs.logger) }
        #expect(error?.code == .symlink)
        #expect(error?.message.contains("'deploy/passwd'") == true)
        // The spec path itself as a link is refused too.
        try FileManager.default.createSymbolicLink(atPath: f.repo.work + "/linked", withDestinationPath: "deploy")
        try f.repo.commitAndPush([:], message: "dir link")
        #expect(gitError { try f.source(path: "linked").fetch(logger: f.logs.logger) }?.code == .symlink)
    }

    @Test("a submodule (gitlink) inside the spec path is refused, naming it")
    func submoduleRejected() throws {
        let f = try SourceFixture(files: ["deploy/mailroom.yaml": TestSpecs.minimal])
        defer { f.remove() }
        let head = try f.repo.head()
        try f.repo.git("update-index", "--add", "--cacheinfo", "160000,\(head),deploy/vendor")
        try f.repo.git("commit", "--quiet", "-m", "gitlink")
        try f.repo.git("push", "--quiet", "origin", "main")
        let error = gitError { try f.source(path: "deploy").fetch(logger: f.logs.logger) }
        #expect(error?.code == .submodule)
        #expect(error?.message.contains("'deploy/vendor'") == true)
    }

    @Test("a blob over the size limit is refused, naming the file and its size")
    func oversizeBlobRefused() throws {
        let big = String(repeating: "x", count: (1 << 20) + 1)
        let f = try SourceFixture(files: ["mailroom.yaml": TestSpecs.minimal, "big.bin": big])
        defer { f.remove() }
        let error = gitError { try f.source().fetch(logger: f.logs.logger) }
        #expect(error?.code == .tooLarge)
        #expect(error?.message.contains("'big.bin'") == true)
        #expect(error?.message.contains("\((1 << 20) + 1) bytes") == true)
        // A smaller limit applies to the spec file too.
        let small = gitError { try f.source(limits: SpecReadLimits(maxFileSize: 10)).fetch(logger: f.logs.logger) }
        #expect(small?.code == .tooLarge)
    }

    @Test("a path that is not a repository, and one that does not exist")
    func notARepository() throws {
        let f = try SourceFixture()
        defer { f.remove() }
        let plain = f.repo.root + "/plain"
        try FileManager.default.createDirectory(atPath: plain, withIntermediateDirectories: true)
        let error = gitError { try f.source(url: plain).fetch(logger: f.logs.logger) }
        #expect(error?.code == .notARepository)
        #expect(error?.message.contains(plain) == true)
        let missing = gitError { try f.source(url: f.repo.root + "/gone.git").fetch(logger: f.logs.logger) }
        #expect(missing?.code == .unreachable)
        #expect(!FileManager.default.fileExists(atPath: f.stateDirectory + "/mirror.git"))
    }

    @Test("the state file is replaced atomically, and kept as it was on failure")
    func stateFileAtomicAndKept() throws {
        let f = try SourceFixture()
        defer { f.remove() }
        let source = try f.source()
        let first = try source.fetch(logger: f.logs.logger)
        let statePath = f.stateDirectory + "/source-state.json"
        let before = try FileManager.default.attributesOfItem(atPath: statePath)[.systemFileNumber] as? Int
        try source.markApplied(first.snapshot)
        let after = try FileManager.default.attributesOfItem(atPath: statePath)[.systemFileNumber] as? Int
        #expect(before != nil && before != after)  // a new inode: written beside, renamed over
        let names = try FileManager.default.contentsOfDirectory(atPath: f.stateDirectory)
        #expect(names.sorted() == ["mirror.git", "source-state.json"])
        let state = try #require(try source.state())
        #expect(state.lastApplied?.commit == first.commit)
        #expect(state.lastApplied?.specTree == first.snapshot.tree)

        // Failures: a bad commit on the branch, then the branch deleted. The state stays.
        let saved = fileData(statePath)
        try FileManager.default.createSymbolicLink(atPath: f.repo.work + "/link", withDestinationPath: "mailroom.yaml")
        try f.repo.commitAndPush([:], message: "bad")
        #expect(gitError { try source.fetch(logger: f.logs.logger) }?.code == .symlink)
        #expect(fileData(statePath) == saved)
        try ScratchRepository.git(["update-ref", "-d", "refs/heads/main"], in: f.repo.origin)
        #expect(gitError { try source.fetch(logger: f.logs.logger) }?.code == .missingBranch)
        #expect(fileData(statePath) == saved)
        // The old snapshot can still be read from the mirror by id.
        #expect(try source.snapshot(at: first.commit.hex).specText == TestSpecs.minimal)
    }

    @Test("a corrupt object in the remote is reported as such, with no mirror left behind")
    func corruptObject() throws {
        let f = try SourceFixture()
        defer { f.remove() }
        // A fresh push of few objects leaves them loose in the origin; damage the spec blob.
        let blob = try f.repo.git("rev-parse", "HEAD:mailroom.yaml").trimmingCharacters(in: .whitespacesAndNewlines)
        let object = f.repo.origin + "/objects/" + blob.prefix(2) + "/" + blob.dropFirst(2)
        #expect(FileManager.default.fileExists(atPath: object))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: object)
        try Data("definitely not zlib".utf8).write(to: URL(fileURLWithPath: object))
        let error = gitError { try f.source().fetch(logger: f.logs.logger) }
        #expect(error?.code == .corruptObject)
        #expect(!FileManager.default.fileExists(atPath: f.stateDirectory + "/source-state.json"))
    }
}
