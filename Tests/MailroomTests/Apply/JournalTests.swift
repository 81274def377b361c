import Foundation
import MailroomHost
import Testing

@testable import MailroomApply
@testable import MailroomSpec
@testable import MailroomSupport
@testable import MailroomTestSupport

/// The journal on its own: no podman.
@Suite("Journal", .tags(.os))
struct JournalTests {
    func temporaryStateDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "mailroom-journal-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func rollout(_ id: String, into journal: Journal, steps: Int = 2, status: RolloutStatus? = .succeeded) throws {
        var start = JournalRecord(type: .start, rollout: id)
        start.commit = "c-\(id)"
        start.trigger = .cli
        try journal.append(start)
        for index in 0..<steps {
            var record = JournalRecord(type: .step, rollout: id)
            record.step = StepRecord(
                action: .containerCreate, target: "c\(index)", command: ["podman", "container", "run"], started: Date(),
                ended: Date(), result: .ok)
            try journal.append(record)
        }
        if let status {
            var end = JournalRecord(type: .end, rollout: id)
            end.status = status
            try journal.append(end)
        }
    }

    @Test("a torn last line is reported, not fatal; the next record starts on its own line")
    func tornLastLine() async throws {
        let state = try temporaryStateDirectory()
        defer { try? FileManager.default.removeItem(atPath: state) }
        try rollout("20260101-000000-0001", into: Journal(stateDirectory: state))
        // A crash in the middle of a write: half a record, no newline.
        let handle = try #require(FileHandle(forWritingAtPath: Journal.path(in: state)))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"rollout":"20260101-000000-0002","type":"sta"#.utf8))
        try handle.close()

        var history = RolloutHistory.load(stateDirectory: state)
        #expect(history.rollouts.map(\.id) == ["20260101-000000-0001"])
        #expect(history.problems.count == 1)
        #expect(history.problems.first?.kind == .torn)
        #expect(history.problems.first?.line == 5)

        let journal = Journal(stateDirectory: state)
        try rollout("20260101-000000-0003", into: journal)
        #expect(journal.problemsSeenOnOpen.map(\.kind) == [.torn])
        history = RolloutHistory.load(stateDirectory: state)
        #expect(history.rollouts.map(\.id) == ["20260101-000000-0001", "20260101-000000-0003"])
        #expect(history.rollouts.allSatisfy { $0.status == .succeeded && $0.steps.count == 2 })
        #expect(history.problems.map(\.kind) == [.unreadable])

        // The CLI lists the rollouts and warns on stderr, with exit 0.
        let cli = try await MailroomBinary.run(["history"], state: state)
        #expect(cli.status == 0)
        #expect(cli.stdoutText.contains("20260101-000000-0003"))
        #expect(cli.stderrText.contains("journal.jsonl:5"))
    }

    @Test("rotation by size happens between rollouts, so a rollout never spans two files")
    func rotation() throws {
        let state = try temporaryStateDirectory()
        defer { try? FileManager.default.removeItem(atPath: state) }
        let journal = Journal(stateDirectory: state, maxBytes: 600, keep: 2)
        for index in 1...4 {
            try journal.rotateIfNeeded()
            try rollout("20260101-000000-000\(index)", into: journal, steps: 3)
        }
        let current = Journal.read(stateDirectory: state, keep: 1).records
        #expect(Set(current.map(\.rollout)) == ["20260101-000000-0004"])
        #expect(current.count == 5)
        #expect(!FileManager.default.fileExists(atPath: Journal.path(in: state, generation: 2)))
        let history = RolloutHistory.load(stateDirectory: state)
        #expect(history.rollouts.map(\.id) == ["20260101-000000-0003", "20260101-000000-0004"])
        #expect(history.rollouts.allSatisfy { $0.steps.count == 3 && $0.status == .succeeded })
    }

    @Test("history finds rollouts by id prefix and by commit")
    func lookups() throws {
        let state = try temporaryStateDirectory()
        defer { try? FileManager.default.removeItem(atPath: state) }
        let journal = Journal(stateDirectory: state)
        try rollout("20260101-000000-aaaa", into: journal)
        try rollout("20260102-000000-bbbb", into: journal, status: .failed)
        try rollout("20260103-000000-cccc", into: journal, status: nil)
        let history = RolloutHistory.load(stateDirectory: state)
        #expect(history.rollout("20260102")?.id == "20260102-000000-bbbb")
        #expect(history.rollout("2026010") == nil)
        #expect(history.rollout(commit: "c-20260101-000000-aaaa")?.id == "20260101-000000-aaaa")
        #expect(history.lastSucceeded()?.id == "20260101-000000-aaaa")
        #expect(history.rollouts.last?.result(runningNow: false) == "interrupted")
        #expect(history.rollouts.last?.result(runningNow: true) == "running")
    }

    @Test("Mailu versions compare numerically")
    func versions() {
        #expect(ApplicationVersion.compare("2.0", "1.9") == .newer)
        #expect(ApplicationVersion.compare("2.0", "2.0.0") == .same)
        #expect(ApplicationVersion.compare("2.0", "10.0") == .older)
        #expect(ApplicationVersion.compare("master", "2.0") == nil)
    }

    @Test("atomic writes keep the owner of the file they replace and set the mode")
    func atomicWrite() throws {
        let state = try temporaryStateDirectory()
        defer { try? FileManager.default.removeItem(atPath: state) }
        let path = state + "/sub/dir/file.env"
        try AtomicFile.write("A=1\n", to: path, mode: 0o600)
        chown(path, 1234, 1234)
        try AtomicFile.write("A=2\n", to: path, mode: 0o640)
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o640)
        #expect(info.st_uid == 1234 && info.st_gid == 1234)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "A=2\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: state + "/sub/dir") == ["file.env"])
    }

    @Test("stale temporaries: only our names, of a process that is gone, regular files; nothing else")
    func staleTemporaries() throws {
        let state = try temporaryStateDirectory()
        defer { try? FileManager.default.removeItem(atPath: state) }
        // pid_max itself is never a process id: a writer that is surely gone.
        let maximum = try String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8)
        let gone = try #require(Int32(maximum.trimmingCharacters(in: .whitespacesAndNewlines)))
        let stale = [".mailu.env.mailroom-\(gone)-17", ".mailroom-\(gone)-4"]
        let kept = [
            "mailu.env", ".mailu.env.mailroom-\(getpid())-3", ".mailu.env.mailroom-1-3", "mailu.env.mailroom-\(gone)-1",
            ".mailu.env.mailroom-\(gone)-x", ".mailu.env.mailroom-\(gone)", ".mailu.env.tmp-\(gone)-1",
        ]
        for name in stale + kept {
            try "SECRET_KEY=x\n".write(toFile: "\(state)/\(name)", atomically: false, encoding: .utf8)
        }
        try FileManager.default.createDirectory(
            atPath: "\(state)/.dir.mailroom-\(gone)-5", withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(
            atPath: "\(state)/.link.mailroom-\(gone)-6", withDestinationPath: "\(state)/mailu.env")
        let removed = AtomicFile.removeStaleTemporaries(in: [state, state + "/", state + "/missing"])
        #expect(removed == stale.map { "\(state)/\($0)" }.sorted())
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: state))
        #expect(left == Set(kept + [".dir.mailroom-\(gone)-5", ".link.mailroom-\(gone)-6"]))
    }

    @Test("the lock admits one apply per state directory, and names the holder")
    func lock() throws {
        let state = try temporaryStateDirectory()
        defer { try? FileManager.default.removeItem(atPath: state) }
        let held = try ApplyLock.acquire(stateDirectory: state)
        #expect(ApplyLock.isHeld(stateDirectory: state))
        #expect(throws: ApplyError(.locked, "")) { try ApplyLock.acquire(stateDirectory: state) }
        do { _ = try ApplyLock.acquire(stateDirectory: state) } catch let error as ApplyError {
            #expect(error.message.contains("process \(getpid())"))
        }
        held.release()
        #expect(!ApplyLock.isHeld(stateDirectory: state))
        _ = try ApplyLock.acquire(stateDirectory: state)
    }

    @Test("step actions are written as the journal's words, which never change")
    func stepActionWords() throws {
        #expect(
            StepAction.allCases.map(\.rawValue) == [
                "network.create", "directory.create", "file.write", "file.delete", "unit.write", "unit.delete",
                "systemd.daemon-reload", "systemd.enable", "systemd.start", "systemd.restart", "systemd.disable",
                "container.create", "container.recreate", "container.start", "container.adopt", "container.remove",
                "container.wait", "container.reload", "container.restart", "key.create", "objects.import",
                "state.write", "image.pull",
            ])
        for service in [ServiceAction.daemonReload, .enable("u"), .start("u"), .restart("u"), .disableNow("u")] {
            #expect(StepAction.systemd(service).rawValue == "systemd." + service.arguments[0])
        }
        let time = Date(timeIntervalSince1970: 1_767_225_600)
        let step = StepRecord(
            action: .containerWait, target: "c", command: nil, started: time, ended: time,
            result: .ok)
        let line = String(decoding: try JournalCoding.encoder().encode(step), as: UTF8.self)
        #expect(line.contains(#""action":"container.wait""#))
        #expect(try JournalCoding.decoder().decode(StepRecord.self, from: Data(line.utf8)) == step)
    }
}
