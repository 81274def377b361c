import Foundation

@testable import MailroomHost
@testable import MailroomSpec
@testable import MailroomSupport

/// Builders the `.pure` suites share: hand-made definitions and the JSON-only podman rows.
extension PureTests {
    static let origin = SourceLocation(file: "mailroom.yaml", line: 1, column: 1)

    /// A definition with name, image and network; `configure` sets the rest.
    static func definition(
        _ name: String, image: String? = nil, network: String = "net",
        _ configure: (inout ContainerDefinition) -> Void = { _ in }
    ) -> ContainerDefinition {
        var c = ContainerDefinition(
            name: name, image: image ?? "localhost/test/\(name):1", network: network, origin: origin)
        configure(&c)
        return c
    }

    /// A row of `podman ps -a --format json` (the type only decodes).
    static func summary(
        _ name: String, state: String = "running", labels: [String: String] = [:],
        networks: [String] = ["net"], id: String? = nil
    ) throws -> ContainerSummary {
        let object: [String: Any] = [
            "Id": id ?? "0123456789ab-\(name)", "Names": [name], "Image": "localhost/test/\(name):1", "State": state,
            "Labels": labels, "Networks": networks,
            "Status": state == "running" ? "Up 5 minutes" : "Exited (0) 5 minutes ago",
        ]
        return try JSONDecoder().decode(ContainerSummary.self, from: JSONSerialization.data(withJSONObject: object))
    }

    /// A row of `podman network ls --format json`.
    static func networkSummary(_ name: String, subnets: [String]) throws -> NetworkSummary {
        let object: [String: Any] = ["name": name, "subnets": subnets.map { ["subnet": $0] }, "dns_enabled": false]
        return try JSONDecoder().decode(NetworkSummary.self, from: JSONSerialization.data(withJSONObject: object))
    }
}
