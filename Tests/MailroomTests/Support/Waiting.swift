import Testing

@testable import MailroomTestSupport

/// Polls `condition` until it holds, first after 20 ms, then less often (up to every 300 ms);
/// fails the test after `timeout`.
///
/// Most conditions run `podman ps` (about 80 ms of CPU per call): polled every 20 ms, each
/// waiting test kept most of a core busy, and the suites waiting side by side slowed the
/// rollouts they were waiting for. Backing off costs a wait at most 300 ms.
///
/// The wait ends as soon as the condition holds, so its bound costs nothing when things work:
/// it only says when to give up on something that will not happen. Keep it in minutes (the
/// default is five), never a guess at how fast this machine is: suites run in parallel, and
/// on a loaded CI machine one `podman container create` has taken 14 s.
func waitFor(
    _ what: String = "condition", timeout: Duration = .minutes(5),
    sourceLocation: Testing.SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    var pause = Duration.milliseconds(20)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: pause)
        pause = min(pause * 2, .milliseconds(300))
    }
    Issue.record("timed out after \(timeout) waiting for \(what)", sourceLocation: sourceLocation)
    throw TestSetupError("timed out waiting for \(what)")
}
