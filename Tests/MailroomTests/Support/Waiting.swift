import Testing

@testable import MailroomTestSupport

/// Polls `condition` every 20 ms until it holds; fails the test after `timeout`.
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
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out after \(timeout) waiting for \(what)", sourceLocation: sourceLocation)
    throw TestSetupError("timed out waiting for \(what)")
}
