import Foundation
import MailroomHost

/// One image pull as it happens, for progress lines (`ApplyOptions.pullProgress`).
public enum ImagePullProgress: Sendable, Equatable {
    case started(image: String)
    case pulled(image: String, durationMs: Int)
    case failed(image: String, reason: String)
}

/// Brings the images a rollout needs into local storage before anything on the host changes,
/// a few at a time: a pull that fails then refuses the rollout with the host untouched, and a
/// recreation no longer waits for a download while its container is down.
struct ImagePuller: Sendable {
    var engine: any ContainerEngine
    var concurrency: Int
    var progress: (@Sendable (ImagePullProgress) -> Void)?
    /// Asked before each pull starts; once it answers, no new pull starts.
    var interruption: @Sendable () -> RolloutInterruption?

    struct Outcome {
        /// One step per pull that ran, in the order they ended.
        var steps: [StepRecord] = []
        /// `image X could not be pulled: reason` for the first failure.
        var failure: String?
        var interruption: RolloutInterruption?
    }

    func pull(_ images: [String]) async -> Outcome {
        var outcome = Outcome()
        var pending = images[...]
        await withTaskGroup(of: StepRecord.self) { group in
            func startNext() -> Bool {
                guard outcome.failure == nil, outcome.interruption == nil, let image = pending.popFirst() else {
                    return false
                }
                if let why = interruption() {
                    outcome.interruption = why
                    return false
                }
                group.addTask { await pullOne(image) }
                return true
            }
            for _ in 0..<max(1, concurrency) where !startNext() { break }
            for await step in group {
                outcome.steps.append(step)
                if step.result == .failed, outcome.failure == nil {
                    outcome.failure = "image \(step.target) could not be pulled: \(step.stderr ?? "unknown error")"
                }
                _ = startNext()
            }
        }
        return outcome
    }

    func pullOne(_ image: String) async -> StepRecord {
        progress?(.started(image: image))
        let began = Date()
        do {
            try await engine.pullImage(image)
            let step = StepRecord(
                action: .imagePull, target: image, command: ["podman", "pull", "--quiet", image], started: began,
                ended: Date(), result: .ok, detail: "pulled")
            progress?(.pulled(image: image, durationMs: step.durationMs))
            return step
        } catch {
            let reason = (error as? CommandError)?.stderr ?? "\(error)"
            progress?(.failed(image: image, reason: reason))
            return StepRecord(
                action: .imagePull, target: image, command: ["podman", "pull", "--quiet", image], started: began,
                ended: Date(), result: .failed, detail: "pull failed", stderr: reason)
        }
    }
}
