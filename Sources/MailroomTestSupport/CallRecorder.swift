import Foundation

/// Every command a `ProcessRunner` started (pass ``observer`` to it): what apply ran, for
/// tests to assert and the benchmark to count.
package final class CallRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [[String]] = []

    package init() {}

    package var observer: @Sendable ([String]) -> Void {
        { [self] arguments in lock.withLock { recorded.append(arguments) } }
    }

    package var calls: [[String]] { lock.withLock { recorded } }
    package func reset() { lock.withLock { recorded.removeAll() } }

    /// podman calls, without the executable: `["ps", "-a", …]`.
    package var podmanCalls: [[String]] {
        calls.filter { ($0.first ?? "").hasSuffix("/podman") }.map { Array($0.dropFirst()) }
    }

    /// podman calls that change something (anything but reading state and running health checks).
    package var mutatingPodmanCalls: [[String]] {
        podmanCalls.filter { call in
            !Self.readOnly.contains { Array(call.prefix($0.count)) == $0 } && !Self.isObjectExport(call)
        }
    }

    /// The application's export (Mailu's `flask mailu config-export`) in a container reads only.
    static func isObjectExport(_ call: [String]) -> Bool {
        call.starts(with: ["container", "exec"]) && call.contains("config-export")
    }

    /// `podman container exec -i ... config-import` calls: what changed the application's objects.
    package var objectImports: [[String]] {
        podmanCalls.filter { $0.starts(with: ["container", "exec"]) && $0.contains("config-import") }
    }

    static let readOnly: [[String]] = [
        ["ps"], ["network", "ls"], ["container", "inspect"], ["inspect"], ["healthcheck", "run"], ["events"],
        ["container", "logs"], ["image", "exists"],
    ]
}
