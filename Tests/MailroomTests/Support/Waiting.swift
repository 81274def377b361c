import Testing
@testable import MailroomTestSupport

/// Polls `condition` every 20 ms until it holds; fails the test after `timeout`.
func waitFor(_ timeout: Duration = .seconds(15), _ what: String = "condition", sourceLocation: Testing.SourceLocation = #_sourceLocation,
             _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out after \(timeout) waiting for \(what)", sourceLocation: sourceLocation)
    throw TestSetupError("timed out waiting for \(what)")
}
