import Foundation

@testable import MailroomTestSupport

/// A stand-in whose health check passes only once the test says so, and which shows when a
/// check has run. Tests that must act while a rollout waits for a container use it instead
/// of a container that turns healthy after N seconds: that races with the machine's speed.
enum GatedHealthCheck {
    /// Overrides for `standInSpec`: the container sleeps; each health check leaves
    /// `/tmp/checked`, and passes once ``open(_:)`` made `/tmp/ok`.
    static let overrides: [String: String] = [
        "command": "[sleep, \"100000\"]",
        "healthcheck": "{command: \"touch /tmp/checked; test -f /tmp/ok\", interval: disable}",
    ]

    /// A health check that passes on its first run.
    static let alwaysHealthy: [String: String] = [
        "command": "[sleep, \"100000\"]",
        "healthcheck": "{command: \"true\", interval: disable}",
    ]

    /// Whether a health check has run in the container now named `container`: a rollout
    /// waits for it to turn healthy.
    static func checked(_ container: String) async -> Bool {
        guard let podman = try? TestPodman.podman() else { return false }
        return (try? await podman.execute(["exec", container, "test", "-f", "/tmp/checked"])) != nil
    }

    /// The container passes its health check from now on.
    static func open(_ container: String) async throws {
        try await TestPodman.run(["exec", container, "touch", "/tmp/ok"])
    }
}
