import Foundation
import MailroomMailu
import MailroomPlan
import MailroomSupport

/// Render + plan, in process: the reference spec, and a generated spec with many containers
/// and domains. Plans are made against an empty host (no podman), so this measures Mailroom.
public struct RenderBenchmarkResult: Sendable, CustomStringConvertible {
    public var referenceP50: Duration
    public var referenceP90: Duration
    public var largeContainers: Int
    public var largeDomains: Int
    public var large: Duration
    /// `render --out` (compile, then write every file and unit in one batch) of the guide's
    /// deployment with `renderOutDomains` domains, into a fresh directory.
    public var renderOutDomains: Int
    public var renderOutFiles: Int
    public var renderOut: Duration
    /// Peak resident memory of this process after the large run (VmHWM).
    public var peakRSSBytes: Int

    private func format(_ duration: Duration) -> String { String(format: "%.1f", duration.milliseconds) }

    public var description: String {
        """
        render + plan, reference spec (13 containers), in process: p50 \(format(referenceP50)) ms, p90 \(format(referenceP90)) ms (target < 20 ms)
        render + plan, \(largeContainers) containers and \(largeDomains) domains: \(format(large)) ms (target < 1000 ms), peak RSS \(peakRSSBytes / 1_048_576) MiB (target < 100 MB)
        render --out, the guide + \(renderOutDomains) domains (\(renderOutFiles) files, crash-safe batch): \(format(renderOut)) ms (target < 10000 ms)
        """
    }
}

public enum RenderBenchmark {
    public static func run(referenceSpec: String, iterations: Int = 50, containers: Int = 1000, domains: Int = 10_000)
        async throws -> RenderBenchmarkResult
    {
        let work = NSTemporaryDirectory() + "mailroom-bench-render-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: work) }
        let host = HostPaths(
            stateDirectory: work + "/state", unitsDirectory: work + "/units", secretsFile: work + "/secrets.env")
        let pipeline = Pipeline(host: host, engine: nil, profile: MailuProfile())
        let clock = ContinuousClock()
        var samples: [Duration] = []
        for _ in 0..<iterations {
            let start = clock.now
            let compiled = try pipeline.compile(specText: referenceSpec, file: "mailroom.yaml")
            _ = try await pipeline.plan(compiled)
            samples.append(clock.now - start)
        }
        samples.sort()

        let text = generatedSpec(containers: containers, domains: domains)
        let start = clock.now
        let compiled = try pipeline.compile(specText: text, file: "generated.yaml")
        let (plan, _) = try await pipeline.plan(compiled)
        let large = clock.now - start
        precondition(plan.containers.count == 13 + containers && compiled.desired.files.count > domains)
        let peak = peakResidentBytes()

        // render --out: the same compile and batch write the CLI does.
        let out = work + "/out"
        let outStart = clock.now
        let written = try pipeline.compile(
            specText: generatedSpec(containers: 0, domains: domains), file: "generated.yaml"
        ).desired
        let items = (written.files + written.units).map {
            AtomicFile.Item(path: out + $0.path, content: $0.content, mode: $0.mode)
        }
        try AtomicFile.write(items)
        let renderOut = clock.now - outStart
        return RenderBenchmarkResult(
            referenceP50: samples[samples.count / 2], referenceP90: samples[samples.count * 9 / 10],
            largeContainers: 13 + containers, largeDomains: domains, large: large, renderOutDomains: domains,
            renderOutFiles: items.count, renderOut: renderOut, peakRSSBytes: peak)
    }

    /// The guide's deployment plus `containers` extra containers and `domains` mail domains.
    static func generatedSpec(containers: Int, domains: Int) -> String {
        var lines = [
            "network: {name: bench, subnet: 10.80.0.0/16, gateway: 10.80.0.1}",
            "domains:",
        ]
        lines += (0..<domains).map { "  - d\($0).example.com" }
        lines += [
            "mailu: {hostnames: [mail.example.com], public_ipv4: 203.0.113.10, website: https://mail.example.com}",
            "caddy: {email: letsencrypt@example.com}",
            "containers:",
        ]
        for index in 0..<containers {
            let ip = "10.80.\(1 + index / 250).\(1 + index % 250 + 1)"
            lines.append(
                "  app\(index): {image: \"docker.io/library/busybox:1.36\", ip: \(ip), env: {N: \"\(index)\"}, depends_on: [mailu-front]}"
            )
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// VmHWM from /proc/self/status, in bytes.
    public static func peakResidentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
        }
        return 0
    }
}
