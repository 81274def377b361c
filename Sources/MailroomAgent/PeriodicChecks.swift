import Foundation
import Logging
import MailroomSupport
import ServiceLifecycle

/// Runs the host checks every `interval` (the first run at start) and keeps the last results
/// for `/status` and `/metrics`. The checks come from the CLI (`mailroom doctor`'s, for the
/// spec last applied), so the agent knows nothing of what they look at.
package actor PeriodicChecks: Service {
    package typealias Checks = @Sendable () async -> [LiveCheckResult]

    private let checks: Checks
    private let interval: Duration
    private let logger: Logger
    package private(set) var results: [LiveCheckResult] = []
    package private(set) var ranAt: Date?
    /// Completed runs, for tests waiting for the next one.
    package private(set) var runs = 0

    package init(interval: Duration, logger: Logger, checks: @escaping Checks) {
        self.checks = checks
        self.interval = interval
        self.logger = logger
    }

    package func run() async throws {
        await cancelWhenGracefulShutdown {
            repeat {
                await self.runOnce()
            } while (try? await Task.sleep(for: self.interval)) != nil
        }
    }

    /// Runs every check once and keeps the results; logs the checks that changed verdict.
    package func runOnce() async {
        let fresh = await checks()
        for result in fresh where !result.verdict.passes {
            let before = results.first { $0.group == result.group && $0.name == result.name }
            if before?.verdict != result.verdict {
                logger.warning(
                    "Host check fails",
                    metadata: [
                        "check.name": "\(result.name)", "check.verdict": "\(result.verdict.rawValue)",
                        "check.detail": "\(result.detail)",
                    ])
            }
        }
        results = fresh
        ranAt = Date()
        runs += 1
    }

    /// `status` and `metrics` with the last results added.
    package func annotate(_ status: inout AgentStatus, _ metrics: inout AgentMetrics) {
        status.checks = results
        status.checksRanAt = ranAt
        metrics.checks = results
        metrics.checksRanAt = ranAt
    }
}
