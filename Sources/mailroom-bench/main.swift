// mailroom-bench: the shipped benchmark. Build it in release mode and run it from the
// repository root (it reads examples/seed-guide/mailroom.yaml):
//
//   swift build -c release && .build/release/mailroom-bench [render] [source] [apply] [agent]
//
// With no arguments it runs every section. `apply` needs podman (see .ci/run) and root.
import Foundation
import Logging

let requested = Set(CommandLine.arguments.dropFirst())
func wants(_ section: String) -> Bool { requested.isEmpty || requested.contains(section) }

var logger = Logger(label: "mailroom.bench")
logger.logLevel = .warning
var failed = false

/// Runs one section; `false` when it threw.
func section(_ name: String, _ body: () async throws -> String) async -> Bool {
    print("== \(name)")
    defer {
        print("")
        fflush(nil)
    }
    do {
        print(try await body())
        return true
    } catch {
        print("failed: \(error)")
        return false
    }
}

// Render first: its peak RSS is read before the other sections allocate.
if wants("render") {
    failed =
        !(await section("render + plan (issue: foundation)") {
            let text = try String(contentsOfFile: "examples/seed-guide/mailroom.yaml", encoding: .utf8)
            return try await RenderBenchmark.run(referenceSpec: text).description
        }) || failed
}
if wants("source") {
    failed =
        !(await section("git source (libgit2, inotify)") {
            try await SourceBenchmark.run(logger: logger).description
        }) || failed
}
if wants("apply") {
    failed =
        !(await section("apply (13 busybox stand-ins, real podman)") {
            try await ApplyBenchmark.run(progress: {
                print("  … \($0)")
                fflush(nil)
            }).description
        }) || failed
}
if wants("agent") {
    failed =
        !(await section("agent (push and override edit to rollout, idle agent)") {
            // The idle agent runs as a child process: the `mailroom` built next to this benchmark.
            return try await AgentBenchmark.run(idleAgent: true).description
        }) || failed
}
exit(failed ? 1 : 0)
