import Foundation
import MailroomApply
import MailroomRender
import MailroomSupport

/// Tells the agent's own changes from outside ones. The agent watches the files it generates
/// and the containers it manages, so its own writes and recreations (and `mailroom rollback`'s)
/// come back through inotify and podman events: only what nobody's rollout did is an outside
/// change worth a reconcile and a "by hand" log line.
enum OwnChanges {
    /// The paths of a file event that were changed from outside. A generated file that holds
    /// exactly what the spec wants is the agent's own write; a write's temporary is its own too.
    static func outsideFileChanges(_ paths: [String], ownContents: [String: Set<String>]) -> [String] {
        paths.filter { path in
            if let written = ownContents[path] {
                guard let data = FileManager.default.contents(atPath: path) else { return true }
                return !written.contains(String(decoding: data, as: UTF8.self))
            }
            let exists = FileManager.default.fileExists(atPath: path)
            return exists || !AtomicFile.isTemporaryName((path as NSString).lastPathComponent)
        }
    }

    /// The generated files' wanted contents, by path (the files and the units).
    static func generatedContents(_ desired: DesiredState) -> [String: String] {
        Dictionary((desired.files + desired.units).map { ($0.path, $0.content) }, uniquingKeysWith: { _, last in last })
    }

    /// Whether a journalled rollout step on the container, at the time of the event, explains
    /// it: a recreation, a removal, or a crash while the rollout waited for the container.
    static func rolloutExplains(_ event: PodmanEvents.Event, history: RolloutHistory) -> Bool {
        guard let time = event.time else { return false }
        // podman stamps an event while the step's command runs, after the step's start and
        // before its end were taken; the journal keeps milliseconds. No slack before the start:
        // a removal by hand just before the put-back that it caused must stay a removal by hand.
        let rounding: TimeInterval = 0.001
        return history.rollouts.reversed().prefix(20).contains { rollout in
            rollout.steps.contains { step in
                step.target == event.name && step.result != .planned
                    && step.started.addingTimeInterval(-rounding) <= time
                    && time <= step.ended.addingTimeInterval(rounding)
            }
        }
    }
}
