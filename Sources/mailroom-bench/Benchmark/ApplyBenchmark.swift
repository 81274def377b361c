import Foundation
import Logging
import MailroomApply
import MailroomHost
import MailroomMailu
import MailroomRender
import MailroomSpec
import MailroomSupport
import MailroomTestSupport

/// What `ApplyBenchmark.run` measured, in milliseconds of wall time.
public struct ApplyBenchmarkResult: Sendable, Codable, CustomStringConvertible {
    /// `podman network create` and the guide's 13 `podman container run`, one after another.
    public var guideSequentialMs: Double
    /// Mailroom's first rollout of the same 13 containers (files, directories, waves, health, journal).
    public var firstRolloutMs: Double
    /// No-op applies (host already in sync), each including its podman calls.
    public var noOpMs: [Double]
    /// podman invocations of one no-op apply, and how many of them change something.
    public var noOpPodmanCalls: Int
    public var noOpMutatingCalls: Int
    /// Applies that change one container's env (one recreate), and the bare
    /// `podman container run --replace` of the same container, alternated.
    public var oneChangeMs: [Double]
    public var bareRunMs: [Double]
    /// The same no-op and one-change runs with reads over podman's REST socket (`PodmanSocket`),
    /// against a `podman system service` the benchmark starts; empty when it could not start one.
    public var socketNoOpMs: [Double] = []
    public var socketOneChangeMs: [Double] = []
    public var socketBareRunMs: [Double] = []
    /// Applies whose only change is one more alias in `mail:` (one `config-import`), and the
    /// bare `podman container exec -i … config-import --update -` of one alias, alternated.
    public var aliasAddMs: [Double] = []
    public var bareImportMs: [Double] = []

    public var noOpP50: Double { Self.median(noOpMs) }
    public var oneChangeP50: Double { Self.median(oneChangeMs) }
    public var bareRunP50: Double { Self.median(bareRunMs) }
    /// How much more a one-container change costs than the bare `podman run` it needs.
    public var oneChangeOverhead: Double { bareRunP50 > 0 ? oneChangeP50 / bareRunP50 - 1 : 0 }
    public var socketOneChangeOverhead: Double {
        Self.median(socketBareRunMs) > 0 ? Self.median(socketOneChangeMs) / Self.median(socketBareRunMs) - 1 : 0
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    public var description: String {
        func ms(_ value: Double) -> String { String(format: "%.0f ms", value) }
        func verdict(_ ok: Bool) -> String { ok ? "ok" : "MISSED" }
        var lines = [
            "mailroom apply benchmark (13 stand-in containers, real podman)",
            "  first rollout: \(ms(firstRolloutMs)) vs the guide's 13 commands one after another \(ms(guideSequentialMs))"
                + " (\(String(format: "%.2f", firstRolloutMs / max(guideSequentialMs, 1)))x; target: faster) \(verdict(firstRolloutMs < guideSequentialMs))",
            "  reads through the podman CLI (3 processes per observation: ps, network ls, Mailu's object export):",
            "    no-op apply: p50 \(ms(noOpP50)) over \(noOpMs.count) (min \(ms(noOpMs.min() ?? 0)), max \(ms(noOpMs.max() ?? 0)));"
                + " \(noOpPodmanCalls) podman calls, \(noOpMutatingCalls) mutating (target: < 150 ms, 0 mutating) \(verdict(noOpP50 < 150 && noOpMutatingCalls == 0))",
            "    one-container change: p50 \(ms(oneChangeP50)) vs bare podman run --replace p50 \(ms(bareRunP50)) over \(oneChangeMs.count):"
                + " \(String(format: "%+.1f%%", oneChangeOverhead * 100)) (target: < +15%) \(verdict(oneChangeOverhead < 0.15))",
        ]
        if !aliasAddMs.isEmpty {
            let overhead = Self.median(aliasAddMs) - Self.median(bareImportMs)
            lines.append(
                "    one alias added in mail: p50 \(ms(Self.median(aliasAddMs))) vs a bare config-import of it p50"
                    + " \(ms(Self.median(bareImportMs))) over \(aliasAddMs.count): +\(ms(overhead)) for observe, plan, export and journal"
            )
        }
        if !socketNoOpMs.isEmpty {
            let p50 = Self.median(socketNoOpMs)
            lines += [
                "  reads over the podman REST socket (PodmanSocket; changes still through the CLI):",
                "    no-op apply: p50 \(ms(p50)) over \(socketNoOpMs.count); 1 podman process, the object export (target: < 150 ms) \(verdict(p50 < 150))",
                "    one-container change: p50 \(ms(Self.median(socketOneChangeMs))) vs bare podman run --replace p50 \(ms(Self.median(socketBareRunMs)))"
                    + " over \(socketOneChangeMs.count): \(String(format: "%+.1f%%", socketOneChangeOverhead * 100)) (target: < +15%)"
                    + " \(verdict(socketOneChangeOverhead < 0.15))",
            ]
        }
        return lines.joined(separator: "\n")
    }
}

/// The shipped benchmark of `apply`, on the 13 stand-ins (`StandInImages`): first rollout vs
/// the guide's commands run by hand, no-op apply, and a one-container change vs a bare
/// `podman run`. It creates its own prefixed containers and networks and removes them.
public enum ApplyBenchmark {
    /// - Parameters:
    ///   - workDirectory: where state, spec and data directories go (removed afterwards).
    ///   - noOpRuns: no-op applies to time; `changeRuns`: one-container changes (and bare runs).
    ///   - progress: called with a line before each phase.
    public static func run(
        workDirectory: String = NSTemporaryDirectory(), noOpRuns: Int = 10, changeRuns: Int = 5,
        progress: @Sendable (String) -> Void = { _ in }
    ) async throws -> ApplyBenchmarkResult {
        let root = "\(workDirectory.trimmingTrailingSlash)/mailroom-bench-\(getpid())"
        try AtomicFile.makeDirectory(root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let counter = CallRecorder()
        let podman = try TestPodman.podman(runner: ProcessRunner(observer: counter.observer))
        progress("building stand-in images (once)")
        try await TestPodman.ensureImages()

        let guide = try await TestDeployment.make("bench-guide", stem: "mrb", in: root)
        let mine = try await TestDeployment.make("bench-mailroom", stem: "mrb", in: root)
        do {
            let result = try await measure(
                podman: podman, counter: counter, guide: guide, mine: mine, noOpRuns: noOpRuns,
                changeRuns: changeRuns, progress: progress)
            await guide.cleanup()
            await mine.cleanup()
            return result
        } catch {
            await guide.cleanup()
            await mine.cleanup()
            throw error
        }
    }

    static func measure(
        podman: PodmanCLI, counter: CallRecorder, guide: TestDeployment, mine: TestDeployment, noOpRuns: Int,
        changeRuns: Int,
        progress: @Sendable (String) -> Void
    ) async throws -> ApplyBenchmarkResult {
        let clock = ContinuousClock()

        // The guide by hand: files and directories first (untimed), then its commands in its order.
        progress("guide: network create + 13 podman container run, one after another")
        let secrets = SecretValues(path: "(bench)", values: ["SECRET_KEY": "bench"])
        let compiler = SpecCompiler(profile: MailuProfile(), unitsDirectory: guide.host.unitsDirectory)
        let desired = try compiler.compile(
            SpecText(guide.standInSpec(), file: "mailroom.yaml"), secrets: .values(secrets)
        ).desired
        for directory in desired.directories { try AtomicFile.makeDirectory(directory) }
        for file in desired.files { try AtomicFile.write(file.content, to: file.path, mode: file.mode) }
        let guideTime = try await clock.measure {
            try await podman.execute(desired.network.arguments)
            for container in desired.containers { try await podman.execute(container.arguments) }
        }
        // Its containers go; its directories stay: the bare runs below mount them.
        await TestPodman.cleanup(prefix: guide.prefix)

        // Mailroom: first rollout, no-ops, one-container changes.
        progress("mailroom: first rollout")
        let (_, first) = try await timedApply(mine.standInSpec(), engine: podman, mine: mine)

        let cli = try await loops(
            engine: podman, counter: counter, mine: mine, desired: desired, runs: (noOpRuns, changeRuns),
            label: "podman CLI", progress: progress)
        var result = ApplyBenchmarkResult(
            guideSequentialMs: guideTime.milliseconds, firstRolloutMs: first, noOpMs: cli.noOps,
            noOpPodmanCalls: cli.calls.count,
            noOpMutatingCalls: cli.mutating, oneChangeMs: cli.changes, bareRunMs: cli.bare)

        progress("mail objects: \(changeRuns) applies adding one alias vs a bare config-import")
        let admin = mine.prefix + "mailu-admin"
        for run in 0..<changeRuns {
            let aliases = (0...run).map { "    bench\($0)@example.com: [postmaster@example.com]\n" }.joined()
            let (added, time) = try await timedApply(
                mine.standInSpec(extra: "mail:\n  aliases:\n" + aliases), engine: podman, mine: mine)
            guard added.steps.contains(where: { $0.action == .objectsImport && $0.result == .ok }) else {
                throw StandInError("expected one import, got \(added.steps.map(\.action))")
            }
            result.aliasAddMs.append(time)
            let document = #"{"alias":[{"destination":["postmaster@example.com"],"email":"bare\#(run)@example.com"}]}"#
            let exec = ["container", "exec", "-i", admin, "flask", "mailu", "config-import", "--update", "-"]
            result.bareImportMs.append(
                try await clock.measure { try await podman.execute(exec, input: Data(document.utf8)) }.milliseconds)
        }

        // The same over the REST socket, against a service of our own.
        if let started = try await TestPodman.startService(socket: mine.root + "/podman.sock", cli: podman) {
            defer {
                started.service.stop()
                unsetenv("MAILROOM_PODMAN_SOCKET")
            }
            let rest = try await loops(
                engine: started.socket, counter: counter, mine: mine, desired: desired, runs: (noOpRuns, changeRuns),
                label: "REST socket", progress: progress)
            result.socketNoOpMs = rest.noOps
            result.socketOneChangeMs = rest.changes
            result.socketBareRunMs = rest.bare
        }
        return result
    }

    /// One apply of `text`, timed in milliseconds; throws unless it succeeded.
    static func timedApply(_ text: String, engine: any ContainerEngine, mine: TestDeployment) async throws -> (
        ApplyResult, Double
    ) {
        let logger = Logger(label: "mailroom.bench", factory: { _ in SwiftLogNoOpLogHandler() })
        // No settle wait: the guide's commands it is measured against do not wait either, and
        // the stand-ins have no health checks (Mailu's images do, so the settle rarely applies).
        var options = ApplyOptions(rollbackOnFailure: false, healthTimeout: .seconds(30))
        options.settleTime = .zero
        let applier = Applier(
            host: mine.host, engine: engine, profile: MailuProfile(), serviceManager: nil, options: options)
        var result: ApplyResult?
        let time = try await ContinuousClock().measure {
            result = try await applier.apply(SpecText(text, file: "mailroom.yaml"), logger: logger)
        }
        guard let result, result.isSuccess else {
            throw StandInError("benchmark apply failed: \(result?.error ?? "?")")
        }
        return (result, time.milliseconds)
    }

    struct Loops {
        var noOps: [Double] = [], calls: [[String]] = [], mutating = 0, changes: [Double] = [], bare: [Double] = []
    }

    /// Timed no-op applies, then one-container changes alternated with bare `podman run --replace`.
    static func loops(
        engine: any ContainerEngine, counter: CallRecorder, mine: TestDeployment, desired: DesiredState,
        runs: (noOp: Int, change: Int),
        label: String, progress: @Sendable (String) -> Void
    ) async throws -> Loops {
        let clock = ContinuousClock()
        func apply(_ text: String) async throws -> (ApplyResult, Double) {
            try await timedApply(text, engine: engine, mine: mine)
        }
        var loops = Loops()
        // Back to the base spec (the previous loop left a changed env behind).
        _ = try await apply(mine.standInSpec())

        progress("\(label): \(runs.noOp) no-op applies")
        for _ in 0..<runs.noOp {
            counter.reset()
            let (result, time) = try await apply(mine.standInSpec())
            guard result.status == .noChanges else {
                throw StandInError("the no-op apply changed something: \(result.status)")
            }
            loops.noOps.append(time)
            loops.calls = counter.podmanCalls
            loops.mutating = counter.mutatingPodmanCalls.count
        }

        progress("\(label): \(runs.change) one-container changes vs bare podman run --replace")
        let webdav = desired.containers.first { $0.name.hasSuffix("mailu-webdav") }!.definition
        var bare = webdav
        bare.name = mine.prefix + "bare"
        bare.ip = nil
        bare.ip6 = nil
        bare.network = mine.prefix + "net"
        try await engine.execute(PodmanArguments.run(bare))
        for run in 0..<runs.change {
            let (result, time) = try await apply(
                mine.standInSpec(overrides: ["mailu-webdav": ["env": "{BENCH: \"\(label)-\(run)\"}"]]))
            guard result.plan?.summary.recreate == 1 else {
                throw StandInError("expected one recreate, got \(String(describing: result.plan?.summary))")
            }
            loops.changes.append(time)
            bare.env = [KeyValue("BENCH", "\(run)")]
            let arguments = PodmanArguments.run(bare)
            loops.bare.append(try await clock.measure { try await engine.execute(arguments) }.milliseconds)
        }
        return loops
    }
}
