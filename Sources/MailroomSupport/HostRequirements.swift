/// What a deployment needs from its host, for `mailroom doctor` and the agent's periodic
/// checks: the profile says how much memory and which website, the desired containers say
/// which ports they publish. Host facts are compared against this.
package struct HostRequirements: Sendable, Equatable {
    /// A host port a container publishes.
    package struct Port: Sendable, Equatable, Hashable {
        package var port: Int
        /// `tcp` or `udp`.
        package var proto: String
        /// The host address it is published on; `nil` is every address.
        package var address: String?
        /// The container that publishes it (its listener is then this deployment's).
        package var container: String

        package init(port: Int, proto: String = "tcp", address: String? = nil, container: String) {
            self.port = port
            self.proto = proto
            self.address = address
            self.container = container
        }

        /// Reads podman's `--publish` value: `[IP:]HOSTPORT:CONTAINERPORT[/PROTO]`. A range or a
        /// publish without a host port (a random one) gives nil: nothing fixed to check.
        package init?(publish: String, container: String) {
            var text = Substring(publish)
            var proto = "tcp"
            if let slash = text.lastIndex(of: "/") {
                proto = String(text[text.index(after: slash)...])
                text = text[..<slash]
            }
            var address: String?
            if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
                address = String(text[text.index(after: text.startIndex)..<close])
                text = text[text.index(after: close)...].drop { $0 == ":" }
            }
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 2, let port = Int(parts[parts.count - 2]), (1...65535).contains(port) else {
                return nil
            }
            if parts.count >= 3, !parts[0].isEmpty { address = parts[0] }
            if address == "0.0.0.0" || address == "::" { address = nil }
            self.init(port: port, proto: proto, address: address, container: container)
        }
    }

    /// Physical memory the enabled components need.
    package var memoryBytes: UInt64
    /// Why that much, for the check's detail ("2 GiB, plus 1 GiB for the antivirus").
    package var memoryReason: String
    /// Memory plus swap below which a burst may end in the OOM killer.
    package var memoryPlusSwapBytes: UInt64
    /// Host ports the deployment publishes.
    package var ports: [Port]
    /// The website's host name: its certificate is checked on the local HTTPS port.
    package var website: String?
    /// The website's certificate comes from a local CA (Caddy's `tls internal`): not publicly trusted, by design.
    package var websiteInternalCA = false
    /// Whether the container network has IPv6 as well (podman needs netavark for it).
    package var dualStack: Bool

    package init(
        memoryBytes: UInt64, memoryReason: String, memoryPlusSwapBytes: UInt64, ports: [Port] = [],
        website: String? = nil, dualStack: Bool = false
    ) {
        self.memoryBytes = memoryBytes
        self.memoryReason = memoryReason
        self.memoryPlusSwapBytes = memoryPlusSwapBytes
        self.ports = ports
        self.website = website
        self.dualStack = dualStack
    }

    package static let gibibyte: UInt64 = 1 << 30
}
