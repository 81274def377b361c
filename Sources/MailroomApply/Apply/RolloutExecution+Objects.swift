import Foundation
import MailroomHost
import MailroomPlan
import MailroomSpec
import MailroomSupport

/// The steps for what lives inside the application: key files before the containers start,
/// and the application's objects once the container that imports them is healthy.
extension RolloutExecution {
    /// Each missing key is created once; a key that appeared meanwhile is kept, never replaced.
    func keys() async {
        for key in plan.keys {
            let created = await step(.keyCreate, key.path, command: nil) {
                try RSAKeyFile.create(at: key.path, mode: key.mode)
                    ? "\(key.purpose): RSA-2048, mode \(String(key.mode, radix: 8))" : "already there; kept"
            }
            guard created else { return }
        }
    }

    /// Reads the objects again when this rollout started their container, diffs them against
    /// the spec and the record, and imports the difference in one call with the changes on
    /// stdin. Adoptions are only recorded. Nothing is imported when nothing differs.
    func objects(started: Set<String>) async {
        guard let store = desired.objects, let planned = plan.objects else { return }
        guard planned.hasChanges || completing else { return }
        let exec = ["container", "exec", "-i", store.container] + store.importCommand
        if dryRun {
            await log.add(
                StepRecord(
                    action: .objectsImport, target: store.container, command: ["podman"] + exec, started: Date(),
                    ended: Date(), result: .planned, detail: Self.summary(planned.changes)))
            return
        }
        if !started.contains(store.container) { await health.awaitDependency(store.container) }
        guard await log.ok else { return }
        if let why = interruption {
            await log.interrupt(why)
            return
        }
        let began = Date()
        // Read again only if this rollout started the container; otherwise the plan's reading,
        // moments old, stands (an import merges, so a change made meanwhile is not undone).
        let observed: ObservedObjects
        if !started.contains(store.container), case .exported = actual.objects {
            observed = actual.objects!
        } else {
            observed = await Observer.objects(store, engine: engine, running: true)
        }
        if case .unavailable(let why) = observed {
            await log.add(
                StepRecord(
                    action: .objectsImport, target: store.container,
                    command: ["podman", "container", "exec", store.container] + store.exportCommand, started: began,
                    ended: Date(), result: .failed, detail: why))
            return
        }
        let applied = await recorder.state
        let fresh = ObjectPlanner.plan(store, observed: observed, applied: applied)
        guard fresh.conflicts.isEmpty else {
            await log.add(
                StepRecord(
                    action: .objectsImport, target: store.container, command: nil, started: began, ended: Date(),
                    result: .failed, detail: fresh.conflicts.joined(separator: "; ")))
            return
        }
        if !fresh.imports.isEmpty {
            let imported = await step(.objectsImport, store.container, command: ["podman"] + exec) {
                let document = try ObjectPlanner.importDocument(fresh.imports, store: store)
                do {
                    try await engine.execute(exec, input: document)
                } catch let error as CommandError {
                    // Mailu prints what it refused; that is the reason, not podman's exit status.
                    throw ObjectImportError(container: store.container, message: Self.redacted(error.stderr))
                }
                return Self.summary(fresh.imports)
            }
            guard imported else { return }
        }
        await record {
            try await recorder.objects(
                ObjectPlanner.record(fresh.changes, store: store, into: applied.objects, observed: observed))
        }
    }

    /// The application's complaint without the values it quotes (Mailu echoes a rejected
    /// password "hash", and SQL errors their parameters): its `Error:` and item lines, with
    /// quoted text and `[parameters: ...]` blanked.
    static func redacted(_ text: String) -> String {
        let lines = text.split(separator: "\n").map(String.init).filter {
            $0.hasPrefix("Error:") || $0.trimmingCharacters(in: .whitespaces).hasPrefix("- ")
        }
        return (lines.isEmpty ? Array(text.split(separator: "\n").suffix(1).map(String.init)) : lines).map { line in
            var out = ""
            var quote: Character?
            var inParameters = false
            for c in line {
                if inParameters {
                    if c == "]" { inParameters = false }
                    continue
                }
                if let open = quote {
                    if c == open {
                        quote = nil
                        out.append("…\(c)")
                    }
                    continue
                }
                if c == "'" || c == "\"" {
                    quote = c
                    out.append(c)
                } else if c == "[", out.hasSuffix(" ") || out.isEmpty, line.contains("[parameters:") {
                    inParameters = true
                    out.append("[…]")
                } else {
                    out.append(c)
                }
            }
            return out
        }.joined(separator: "\n")
    }

    /// `2 created, 1 updated, 1 deleted`.
    static func summary(_ changes: [ObjectChange]) -> String {
        let counts = changes.counts { $0 == .adopt ? "adopted" : "\($0.rawValue)d" }
        return counts.isEmpty ? "compared after the container started" : counts.joined(separator: ", ")
    }
}

/// The application refused an import; `message` is what it printed.
struct ObjectImportError: Error, CustomStringConvertible {
    var container: String
    var message: String
    var description: String {
        "the import in \(container) failed"
            + (message.isEmpty ? "" : ": " + message.split(separator: "\n").suffix(6).joined(separator: " | "))
    }
}
