import Foundation
import Testing

@testable import MailroomApply
@testable import MailroomHost
@testable import MailroomSupport
@testable import MailroomTestSupport

/// `mailroom apply` crashed (`MAILROOM_FAULT=<point>:<n>`, debug builds) at the named steps of a
/// 13-container first deploy, of a `mailu.env` change and of a new domain with a dropped
/// container (a Caddy reload, a removal), then run again. After each: the
/// second run succeeds, a plan finds nothing to do, every journal start has its end (the
/// crashed rollout's says `interrupted`), no temporary is left and the data directories keep
/// what they held. How often each point is passed comes from a clean run's trace
/// (`MAILROOM_FAULT_TRACE`), so the walk is finite and known in advance.
///
/// By default (CI) each point is crashed at its middle pass, in the first deploy and the new
/// domain only at the points the `mailu.env` walk does not pass; with `MAILROOM_FAULT_WALK=sampled`
/// at its first, middle and last, with `MAILROOM_FAULT_WALK=full` at every pass (that takes
/// long on a loaded machine). The figures (steps walked, converged, leftovers) are printed.
@Suite("Fault injection: crash at every named step, then converge", .serialized, .tags(.podman))
struct FaultWalkTests {
    /// `full`: every pass; `sampled`: first, middle and last; otherwise (CI) the middle pass.
    static let walkMode = ProcessInfo.processInfo.environment["MAILROOM_FAULT_WALK"] ?? "middle"

    /// One walk's figures.
    struct Figures: CustomStringConvertible {
        var scenario: String
        var passes: [String: Int] = [:]
        var walked = 0
        var converged = 0
        var leftovers = 0
        /// Crash points this run did not reach (it passed the point fewer times than the trace).
        var notReached: [String] = []
        var description: String {
            let points = passes.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
            return
                "fault walk \(scenario) (\(FaultWalkTests.walkMode) passes): "
                + "\(walked) crashes walked, \(converged) converged, \(leftovers) leftovers"
                + (notReached.isEmpty ? "" : " (not reached, ended normally: \(notReached.joined(separator: ", ")))")
                + "; passes in a clean run: \(points)"
        }
    }

    @Test("a first deploy: a crash at any named step, and the next apply converges")
    func firstDeploy() async throws {
        try await TestPodman.ensureImages()
        var figures = Figures(scenario: "first deploy")
        // The trace: how often a clean first deploy passes each point.
        try await TestDeployment.with("fault-trace") { d in
            figures.passes = try await Self.trace(d, spec: d.standInSpec())
        }
        #expect(figures.passes["container.create"] == 13 && figures.passes["network.create"] == 1)
        // By default the points the mailu.env walk also crashes at are left to it (CI time).
        for (point, n) in Self.walk(
            figures.passes, only: Self.walkMode == "middle" ? ["network.create", "container.create"] : nil)
        {
            try await TestDeployment.with("fault-walk") { d in
                try Self.plantData(d)
                try await Self.crashAndRecover(d, spec: d.standInSpec(), point: point, n: n, &figures)
            }
        }
        print(figures)
        #expect(figures.walked > 0 && figures.converged == figures.walked && figures.leftovers == 0, "\(figures)")
    }

    @Test("a mailu.env change (9 containers recreated): a crash at any named step, and the next apply converges")
    func mailuEnvChange() async throws {
        try await TestPodman.ensureImages()
        var figures = Figures(scenario: "mailu.env change")
        try await TestDeployment.with("fault-env") { d in
            // Each walk step applies the other spec, so every crash lands in the same change (9
            // readers recreated) without a new deploy.
            let specs = try await Self.deployFirstOfTwo(d)
            figures.passes = try await Self.trace(d, spec: specs[1])
            #expect(figures.passes["container.create"] == 9)
            var current = 1
            for (point, n) in Self.walk(figures.passes) {
                current = 1 - current
                try await Self.crashAndRecover(d, spec: specs[current], point: point, n: n, &figures)
            }
        }
        print(figures)
        #expect(figures.walked > 0 && figures.converged == figures.walked && figures.leftovers == 0, "\(figures)")
    }

    @Test(
        "a new domain and a dropped container (a Caddy reload, a removal): a crash at any named step, and the next apply converges"
    )
    func reloadAndRemoval() async throws {
        try await TestPodman.ensureImages()
        var figures = Figures(scenario: "new domain + dropped container")
        try await TestDeployment.with("fault-reload") { d in
            try Self.plantData(d)
            // Going back removes the domain again, which Mailu would do by deleting its account.
            let mail = "mail:\n  delete_mailboxes: true"
            let before = d.standInSpec(extra: mail)
            let after = d.standInSpec(
                overrides: ["mailu-webdav": ["enabled": "false"]], extra: mail, domains: ["example.com", "example.net"])
            try await Self.applyCleanly(d, spec: before)
            figures.passes = try await Self.trace(d, spec: after)
            #expect(figures.passes["container.reload"] == 1 && figures.passes["container.remove"] == 1)
            // Not symmetric: back to the first spec before each crash.
            let own: Set<String>? = Self.walkMode == "middle" ? ["container.reload", "container.remove"] : nil
            for (point, n) in Self.walk(figures.passes, only: own) {
                try await Self.applyCleanly(d, spec: before)
                try await Self.crashAndRecover(d, spec: after, point: point, n: n, &figures)
            }
        }
        print(figures)
        #expect(figures.walked > 0 && figures.converged == figures.walked && figures.leftovers == 0, "\(figures)")
    }

    @Test("an injected failure (`<point>:<n>:fail`) fails the rollout with a clear error; the next apply converges")
    func injectedFailure() async throws {
        try await TestPodman.ensureImages()
        try await TestDeployment.with("fault-fail") { d in
            let specs = try await Self.deployFirstOfTwo(d)
            // The mailu.env write, and a container recreated but not yet recorded.
            for (index, at) in ["file.rename:2:fail", "container.create:2:fail"].enumerated() {
                try d.writeSpec(specs[1 - index % 2])
                let failed = try await Self.apply(d, environment: ["MAILROOM_FAULT": at])
                #expect(failed.status != 0 && failed.status != FaultInjection.exitStatus, "\(at): \(failed.stderrText)")
                let history = RolloutHistory.load(stateDirectory: d.host.stateDirectory)
                #expect(history.rollouts.last?.status == .failed, "\(at)")
                let point = at.split(separator: ":")[0]
                #expect(history.rollouts.last?.error?.contains("injected fault at \(point)") == true, "\(at)")
                #expect(history.rollouts.allSatisfy { $0.status != nil })
                #expect(Self.temporaries(under: d.root).isEmpty, "\(at)")
                let next = try await Self.apply(d)
                #expect(next.status == 0, "\(at): \(next.stderrText)")
                #expect(try await MailroomBinary.run(["plan", d.specDirectory], host: d.host).status == 0, "\(at)")
                #expect(Self.dataIntact(d))
            }
        }
    }

    // MARK: - The walk

    /// Each point with the passes to crash at.
    static func walk(_ passes: [String: Int], only points: Set<String>? = nil) -> [(String, Int)] {
        passes.sorted { $0.key < $1.key }.filter { points?.contains($0.key) ?? true }.flatMap { point, count in
            let ns =
                switch walkMode {
                case "full": Array(1...count)
                case "sampled": Array(Set([1, (count + 1) / 2, count])).sorted()
                default: [(count + 1) / 2]
                }
            return ns.map { (point, $0) }
        }
    }

    static func apply(_ d: TestDeployment, environment: [String: String] = [:]) async throws -> ProcessResult {
        try await MailroomBinary.run(
            ["apply", d.specDirectory, "--yes", "--health-timeout", "120", "--settle-time", "0.5"], host: d.host,
            environment: environment)
    }

    /// Two specs that differ only in `mailu.env`; the first is applied.
    static func deployFirstOfTwo(_ d: TestDeployment) async throws -> [String] {
        try plantData(d)
        let specs = [d.standInSpec(), d.standInSpec(mailu: ["timezone: Etc/UTC"])]
        try await applyCleanly(d, spec: specs[0])
        return specs
    }

    static func applyCleanly(_ d: TestDeployment, spec: String) async throws {
        try d.writeSpec(spec)
        let result = try await apply(d)
        try #require(result.status == 0, "\(result.stdoutText)\n\(result.stderrText)")
    }

    /// A clean apply of `spec` with the trace on: each point's number of passes.
    static func trace(_ d: TestDeployment, spec: String) async throws -> [String: Int] {
        try d.writeSpec(spec)
        let path = d.root + "/fault-trace"
        let result = try await apply(d, environment: ["MAILROOM_FAULT_TRACE": path])
        try #require(result.status == 0, "\(result.stdoutText)\n\(result.stderrText)")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        try? FileManager.default.removeItem(atPath: path)
        return Dictionary(lines.map { ($0, 1) }, uniquingKeysWith: +)
    }

    /// Crashes an apply of `spec` at the `n`-th pass of `point`, applies again, and checks.
    static func crashAndRecover(
        _ d: TestDeployment, spec: String, point: String, n: Int, _ figures: inout Figures
    ) async throws {
        let at = "\(point):\(n)"
        try d.writeSpec(spec)
        let crashed = try await apply(d, environment: ["MAILROOM_FAULT": at])
        // Health waits make some counts vary from run to run: a run that passed the point fewer
        // times than the trace did ends normally, and is checked as converged all the same.
        if crashed.status == 0 {
            figures.notReached.append(at)
        } else {
            figures.walked += 1
            #expect(crashed.status == FaultInjection.exitStatus, "\(at): no crash: \(crashed.stderrText)")
        }
        let next = try await apply(d)
        #expect(next.status == 0, "\(at): the next apply failed: \(next.stderrText)")
        let plan = try await MailroomBinary.run(["plan", d.specDirectory], host: d.host)
        #expect(plan.status == 0, "\(at): not converged:\n\(plan.stdoutText)")
        let history = RolloutHistory.load(stateDirectory: d.host.stateDirectory)
        let open = history.rollouts.filter { $0.status == nil }.map(\.id)
        #expect(open.isEmpty, "\(at): rollouts without an end: \(open)")
        if crashed.status != 0 && next.status == 0 && plan.status == 0 && open.isEmpty { figures.converged += 1 }
        let left = temporaries(under: d.root)
        #expect(left.isEmpty, "\(at): temporaries left: \(left)")
        figures.leftovers += left.count
        #expect(dataIntact(d), "\(at): a data directory lost what it held")
    }

    // MARK: - Checks

    /// Files in Mailu's data directories before anything was applied: no run may touch them.
    static let planted = ["mailu/mail/user@example.com/cur/1.eml", "mailu/data/main.db", "mailu/dkim/keep.txt"]

    static func plantData(_ d: TestDeployment) throws {
        for file in planted {
            let path = d.root + "/" + file
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try "kept: \(file)\n".write(toFile: path, atomically: false, encoding: .utf8)
        }
    }

    static func dataIntact(_ d: TestDeployment) -> Bool {
        planted.allSatisfy { (try? String(contentsOfFile: d.root + "/" + $0, encoding: .utf8)) == "kept: \($0)\n" }
    }

    /// Every file under `root` named as an atomic write's temporary.
    static func temporaries(under root: String) -> [String] {
        let paths = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
        return paths.filter { AtomicFile.temporaryOwner(($0 as NSString).lastPathComponent) != nil }
    }
}
