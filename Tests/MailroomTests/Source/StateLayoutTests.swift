import Foundation
import Testing

@testable import MailroomAgent
@testable import MailroomSource
@testable import MailroomSupport
@testable import MailroomTestSupport

/// One state directory layout for the CLI and the agent. Before, the agent kept its mirror in
/// `<state>/source/mirror.git` and the CLI in `<state>/mirror.git`: one host had two mirrors.
@Suite("State directory layout", .tags(.git))
struct StateLayoutTests {
    @Test("an agent's older source/ layout is moved up on first use, and the mirror keeps working")
    func legacyAgentLayoutIsMigrated() async throws {
        let f = try SourceFixture()
        defer { f.remove() }
        let first = try await f.source().fetch(logger: f.logs.logger)
        // Make the layout an agent before 0.2 left: mirror and source state under source/.
        let files = FileManager.default
        let state = StateDirectory(f.stateDirectory)
        try files.createDirectory(atPath: f.stateDirectory + "/source", withIntermediateDirectories: true)
        try files.moveItem(atPath: state.mirror, toPath: f.stateDirectory + "/source/mirror.git")
        try files.moveItem(atPath: state.sourceState, toPath: f.stateDirectory + "/source/source-state.json")

        let pushed = try f.repo.commitAndPush(
            ["mailroom.yaml": TestSpecs.minimal + "# after migration\n"], message: "next")
        let source = try f.source()
        #expect(!files.fileExists(atPath: f.stateDirectory + "/source"))
        #expect(files.fileExists(atPath: state.mirror + "/HEAD") && files.fileExists(atPath: state.sourceState))
        let second = try await source.fetch(logger: f.logs.logger)
        #expect(second.commit.hex == pushed)
        #expect(second.previous == first.commit && !second.forced)
    }

    @Test("when both layouts exist, the newer source state wins and one mirror is left")
    func bothLayoutsLeaveOneMirror() async throws {
        let f = try SourceFixture()
        defer { f.remove() }
        _ = try await f.source().fetch(logger: f.logs.logger)
        let files = FileManager.default
        let state = StateDirectory(f.stateDirectory)
        // An old agent copy, older than the CLI's.
        try files.createDirectory(atPath: f.stateDirectory + "/source", withIntermediateDirectories: true)
        try files.copyItem(atPath: state.mirror, toPath: f.stateDirectory + "/source/mirror.git")
        try "{}".write(toFile: f.stateDirectory + "/source/source-state.json", atomically: true, encoding: .utf8)
        try files.setAttributes(
            [.modificationDate: Date(timeIntervalSinceNow: -3600)],
            ofItemAtPath: f.stateDirectory + "/source/source-state.json")
        let kept = try Data(contentsOf: URL(fileURLWithPath: state.sourceState))

        let message = try state.migrate()
        #expect(message?.contains("removed the older git mirror") == true)
        #expect(!files.fileExists(atPath: f.stateDirectory + "/source"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: state.sourceState)) == kept)
        #expect(try state.migrate() == nil)
    }
}

extension PureTests {
    /// The CLI and the agent compute the same paths in a state directory.
    @Suite("State directory paths", .tags(.pure))
    struct StatePathTests {
        @Test("the CLI's --repo and the agent use the same mirror and source state")
        func cliAndAgentShareTheMirror() throws {
            var agent = AgentConfiguration(repository: "/srv/git/mail.git")
            agent.stateDirectory = "/var/lib/mr"
            let cli = try SourceConfiguration(repository: "/srv/git/mail.git", stateDirectory: "/var/lib/mr")
            let fromAgent = try SourceConfiguration(repository: agent.repository, stateDirectory: agent.stateDirectory)
            #expect(cli.mirrorPath == "/var/lib/mr/mirror.git" && fromAgent.mirrorPath == cli.mirrorPath)
            #expect(cli.statePath == "/var/lib/mr/source-state.json" && fromAgent.statePath == cli.statePath)
        }
    }
}
