import MailroomSupport

/// A deployment spec as written in `mailroom.yaml`: the network, the profile's settings and
/// per-container overrides and additions. The profile expands it into an `ExplicitSpec`.
public struct DeploymentSpec: Sendable {
    public var file: String
    public var network: NetworkSpec
    /// The profile's own sections (for Mailu: `mailu`, `domains`, `caddy`), as it read them.
    public var settings: any ProfileSettings
    public var containers: [ContainerPatch]
    public var secrets: SecretsSpec
    /// Prepended to every container name (and so to unit names), to run two deployments on one host.
    public var prefix: String
    /// `hosts:`, the machines the deployment is spread over; empty for one host.
    public var hosts: [HostSpec] = []

    public init(
        file: String, network: NetworkSpec, settings: any ProfileSettings, containers: [ContainerPatch],
        secrets: SecretsSpec,
        prefix: String = ""
    ) {
        self.prefix = prefix
        self.file = file
        self.network = network
        self.settings = settings
        self.containers = containers
        self.secrets = secrets
    }
}

/// The podman network all containers join.
public struct NetworkSpec: Sendable, Equatable, Codable {
    public var name: String
    public var subnet: String
    public var gateway: String
    public var subnet6: String?
    public var gateway6: String?
    public var dns: Bool
    public var location: SourceLocation

    public var ipv4Subnet: Subnet? { Subnet(subnet) }
    public var ipv6Subnet: Subnet? { subnet6.flatMap(Subnet.init) }
}

/// Where secrets come from: a local file on the host, never the spec.
public struct SecretsSpec: Sendable, Equatable, Codable {
    /// Keys that must be present in the secrets file.
    public var keys: [String]
    public var location: SourceLocation
}

/// Overrides for a profile container, or a whole new container: the keys written under
/// `containers.<name>`, each read as ``ContainerKey/all`` says. Maps (env, labels) merge into
/// the profile's; lists and scalars replace the profile's.
public struct ContainerPatch: Sendable, Equatable {
    public var name: String
    public var location: SourceLocation
    /// The values written, by key name.
    public var values: [String: PatchValue] = [:]

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }

    /// `enabled:` as written; `nil` when it was not.
    public var enabled: Bool? {
        if case .enabled(let value)? = values["enabled"] { return value }
        return nil
    }

    /// `image:` as written.
    public var image: Located<String>? {
        if case .text(let image)? = values["image"] { return image }
        return nil
    }
}

/// A value and the place in the spec it came from.
public struct Located<Value: Sendable & Equatable & Codable>: Sendable, Equatable, Codable {
    public var value: Value
    public var location: SourceLocation

    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }
}

public struct KeyValue: Sendable, Equatable, Codable {
    public var key: String
    public var value: String

    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

/// A podman health check; the interval may be `disable` (no systemd timers).
public struct Healthcheck: Sendable, Equatable, Codable {
    public var command: String
    public var interval: String?
    public var timeout: String?
    public var retries: Int?
    public var startPeriod: String?

    public init(
        command: String, interval: String? = nil, timeout: String? = nil, retries: Int? = nil,
        startPeriod: String? = nil
    ) {
        self.command = command
        self.interval = interval
        self.timeout = timeout
        self.retries = retries
        self.startPeriod = startPeriod
    }
}
