import Foundation
import Testing

@testable import MailroomApply
@testable import MailroomHost
@testable import MailroomTestSupport

/// Faults that come from outside Mailroom: each gives a clear error, keeps the last good state,
/// is in the journal, and the next apply converges once the fault is gone.
@Suite("Faults from outside", .serialized, .tags(.podman))
struct OutsideFaultTests {
    @Test(
        "a port held by a listener Mailroom does not manage: the rollout fails naming it, rolls back, and applies once it is free"
    )
    func portInUse() async throws {
        try await ApplyHarness.with { h in
            let caddy = h.name("caddy2")
            #expect(try await h.apply(h.deployment.standInSpec(), commit: "first").status == .succeeded)
            // Caddy moves to a port that a listener in this process holds.
            let port = h.deployment.portBase + 3
            let listener = try Self.listen(port: port)
            let moved = h.deployment.standInSpec(overrides: [
                "caddy2": ["ports": "[\"127.0.0.1:\(port):443/tcp\"]"]
            ])
            let failed = try await h.apply(moved, commit: "second")
            close(listener)
            #expect(failed.status == .failed)
            let step = try #require(failed.steps.first { $0.result == .failed }, "\(failed.steps)")
            #expect(step.target == caddy)
            #expect(
                (step.stderr ?? "").contains("address already in use") && (step.stderr ?? "").contains("\(port)"),
                "\(step.stderr ?? "")")
            // The journal says what happened; the last good state is back.
            let history = h.history
            let second = try #require(history.rollouts.last { $0.commit == "second" })
            #expect(second.status == .failed)
            #expect(
                second.steps.contains { $0.result == .failed && ($0.stderr ?? "").contains("address already in use") })
            #expect(failed.autoRollback?.status == .succeeded, "\(failed.autoRollback?.error ?? "")")
            #expect(try h.applied.commit == "first")
            let containers = try await h.containers()
            #expect(containers.count == 13 && containers.values.allSatisfy { $0.state == "running" })

            // The port is free again: the same commit applies.
            let again = try await h.apply(moved, commit: "second")
            #expect(again.status == .succeeded, "\(again.error ?? "")")
            #expect(try h.applied.commit == "second")
        }
    }

    @Test(
        "a full disk while writing mailu.env: the rollout fails naming it, nothing is replaced, and applies once there is room"
    )
    func diskFull() async throws {
        try await TestPodman.ensureImages()
        let d = try await TestDeployment.make("disk-full")
        // Mailu's root (mailu.env and the data directories) on a small file system of its own.
        let mailu = d.root + "/mailu"
        try FileManager.default.createDirectory(atPath: mailu, withIntermediateDirectories: true)
        let mount = try await ProcessRunner().run(["/bin/mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mailu])
        try #require(mount.succeeded, "cannot mount a tmpfs (needs root): \(mount.stderrText)")
        do {
            try await Self.diskFull(d, mailu: mailu)
        } catch {
            Issue.record(error)
        }
        await TestPodman.cleanup(prefix: d.prefix)
        _ = try await ProcessRunner().run(["/bin/umount", mailu])
        await d.cleanup()
    }

    static func diskFull(_ d: TestDeployment, mailu: String) async throws {
        let h = ApplyHarness(deployment: d)
        #expect(try await h.apply(d.standInSpec(), commit: "first").status == .succeeded)
        let before = try String(contentsOfFile: mailu + "/mailu.env", encoding: .utf8)
        let filler = try fill(mailu)

        let changed = d.standInSpec(mailu: ["timezone: Etc/UTC"])
        let failed = try await h.apply(changed, commit: "second")
        #expect(failed.status == .failed)
        let step = try #require(failed.steps.first { $0.result == .failed }, "\(failed.steps)")
        #expect(step.action == .fileWrite && step.target == mailu + "/mailu.env")
        #expect(step.detail?.contains("No space left on device") == true, "\(step.detail ?? "")")
        // The journal says so; nothing was replaced or recreated; no temporary is left.
        let second = try #require(h.history.rollouts.last { $0.commit == "second" })
        #expect(second.status == .failed && second.error?.contains("No space left on device") == true)
        #expect(try String(contentsOfFile: mailu + "/mailu.env", encoding: .utf8) == before)
        #expect(!failed.steps.contains { $0.action == .containerRecreate })
        #expect(try h.applied.commit == "first")
        let names = try FileManager.default.contentsOfDirectory(atPath: mailu)
        #expect(!names.contains { $0.contains(".mailroom-") }, "\(names)")

        // Room again: the same commit applies.
        try FileManager.default.removeItem(atPath: filler)
        let again = try await h.apply(changed, commit: "second")
        #expect(again.status == .succeeded, "\(again.error ?? "")")
        #expect(try String(contentsOfFile: mailu + "/mailu.env", encoding: .utf8) != before)
        #expect(try await MailroomBinary.run(["plan", d.specDirectory], host: d.host).status == 0)
    }

    @Test(
        "podman itself killed in the middle of a container run: the rollout fails naming it, the journal says so, the next apply converges"
    )
    func podmanKilled() async throws {
        try await ApplyHarness.with { h in
            let webdav = h.name("mailu-webdav")
            let host = h.deployment.host
            #expect(try await h.apply(h.deployment.standInSpec(), commit: "first").status == .succeeded)
            // A podman in front of the real one that kills the first run of webdav shortly after
            // it started, wherever it has got to by then: created, half-created or not at all.
            let bin = h.deployment.root + "/bin"
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            let podman = try #require(ProcessRunner.which("podman"))
            let mark = h.deployment.root + "/killed-once"
            try """
            #!/bin/sh
            case " $* " in
              *" container run "*"--name=\(webdav) "*)
                if [ ! -e \(mark) ]; then
                  touch \(mark)
                  \(podman) "$@" & child=$!
                  sleep 0.3
                  kill -9 $child
                  wait $child
                  exit $?
                fi ;;
            esac
            exec \(podman) "$@"
            """.write(toFile: bin + "/podman", atomically: true, encoding: .utf8)
            chmod(bin + "/podman", 0o755)
            let path = ["PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")]
            try h.deployment.writeSpec(
                h.deployment.standInSpec(overrides: ["mailu-webdav": ["env": "{FEATURE: \"on\"}"]]))
            let killed = try await MailroomBinary.run(
                ["apply", h.deployment.specDirectory, "--yes", "--settle-time", "0.5"], host: host, environment: path)
            #expect(killed.status == 1, "\(killed.stdoutText)\(killed.stderrText)")
            #expect(FileManager.default.fileExists(atPath: mark))
            let failed = try #require(h.history.rollouts.last)
            #expect(failed.status == .failed)
            #expect(
                failed.steps.contains {
                    $0.target == webdav && $0.result == .failed && $0.action == .containerRecreate
                },
                "\(failed.steps.map { "\($0.action) \($0.target) \($0.result)" })")

            // podman is whole again: the next apply converges, and a plan then finds nothing.
            let next = try await MailroomBinary.run(
                ["apply", h.deployment.specDirectory, "--yes", "--settle-time", "0.5"], host: host, environment: path)
            #expect(next.status == 0, "\(next.stdoutText)\(next.stderrText)")
            let containers = try await h.containers()
            #expect(containers.count == 13 && containers.values.allSatisfy { $0.state == "running" }, "\(containers)")
            #expect(containers[webdav]?.labels["mailroom.managed"] == "true")
            let plan = try await MailroomBinary.run(["plan", h.deployment.specDirectory], host: host)
            #expect(plan.status == 0, "\(plan.stdoutText)")
        }
    }

    @Test(
        "a container name taken by a container Mailroom did not make: the plan says so and it is replaced by the spec's"
    )
    func nameTaken() async throws {
        try await ApplyHarness.with { h in
            let webdav = h.name("mailu-webdav")
            try await TestPodman.run([
                "container", "run", "--detach", "--init", "--name", webdav, StandInImages.busyboxImage, "sleep",
                "100000",
            ])
            let handmade = try #require(try await h.containers()[webdav]?.id)
            let result = try await h.apply(h.deployment.standInSpec())
            #expect(result.status == .succeeded, "\(result.error ?? "")")
            let change = try #require(result.plan?.containers.first { $0.name == webdav })
            #expect(change.action == .recreate)
            #expect(change.reasons.contains { $0.contains("made outside Mailroom") }, "\(change.reasons)")
            #expect(
                result.steps.contains { $0.action == .containerRecreate && $0.target == webdav && $0.result == .ok })
            let now = try #require(try await h.containers()[webdav])
            #expect(now.id != handmade && now.labels["mailroom.managed"] == "true" && now.state == "running")
            #expect(
                try await MailroomBinary.run(["plan", h.deployment.specDirectory], host: h.deployment.host).status == 0)
        }
    }

    @Test(
        "a full disk under the state directory (journal, spec archive): apply stops before changing anything, naming it; applies once there is room"
    )
    func stateDiskFull() async throws {
        try await TestPodman.ensureImages()
        let d = try await TestDeployment.make("state-full")
        let state = d.host.stateDirectory
        let mount = try await ProcessRunner().run(["/bin/mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", state])
        try #require(mount.succeeded, "cannot mount a tmpfs (needs root): \(mount.stderrText)")
        do {
            let h = ApplyHarness(deployment: d)
            #expect(try await h.apply(d.standInSpec(), commit: "first").status == .succeeded)
            let rollouts = h.history.rollouts.count
            let filler = try Self.fill(state)
            let changed = d.standInSpec(mailu: ["timezone: Etc/UTC"])
            try d.writeSpec(changed)
            let cli = try await MailroomBinary.run(["apply", d.specDirectory, "--yes"], host: d.host)
            #expect(cli.status != 0 && cli.stderrText.contains("No space left on device"), "\(cli.stderrText)")
            // Nothing changed: no container recreated, the record and the journal as they were.
            #expect(try h.applied.commit == "first")
            #expect(h.history.rollouts.count == rollouts && h.history.rollouts.allSatisfy { $0.status != nil })
            #expect(try await h.containers().values.allSatisfy { $0.labels["mailroom.commit"] == "first" })
            #expect(
                !(try FileManager.default.subpathsOfDirectory(atPath: state)).contains { $0.contains(".mailroom-") })
            try FileManager.default.removeItem(atPath: filler)
            let again = try await h.apply(changed, commit: "second")
            #expect(again.status == .succeeded, "\(again.error ?? "")")
        } catch {
            Issue.record(error)
        }
        await TestPodman.cleanup(prefix: d.prefix)
        _ = try await ProcessRunner().run(["/bin/umount", state])
        await d.cleanup()
    }

    /// Fills the file system of `directory` until it refuses a write; returns the filler's path.
    static func fill(_ directory: String) throws -> String {
        let filler = directory + "/filler"
        let fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        let block = [UInt8](repeating: 0x61, count: 4096)
        while write(fd, block, block.count) > 0 {}
        close(fd)
        return filler
    }

    /// A TCP listener on 127.0.0.1:`port`, outside podman.
    static func listen(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(bound == 0 && Glibc.listen(fd, 1) == 0, "cannot listen on 127.0.0.1:\(port)")
        return fd
    }
}
