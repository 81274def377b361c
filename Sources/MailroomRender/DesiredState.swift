import MailroomSpec

/// What the host should look like: the network, each container's exact arguments and
/// config hash inputs, the generated files and the systemd units.
public struct DesiredState: Sendable, Equatable, Codable {
    public var network: DesiredNetwork
    /// In spec order.
    public var containers: [DesiredContainer]
    /// Configuration files (env files, Caddyfiles).
    public var files: [FileDefinition]
    /// systemd units, one per container.
    public var units: [FileDefinition]
    public var directories: [String]
    /// The profile's application and version, when its upgrades cannot be undone.
    public var application: ApplicationVersion?
    /// Objects inside the application, managed through its export and import commands.
    public var objects: ObjectStore?
    /// Private keys created once when missing, never replaced.
    public var keys: [KeyFile] = []

    public var applicationVersion: String? { application?.version }

    /// Nothing at all: a host a spec does not name (`mailroom diff --all-hosts`).
    public static let empty = DesiredState(
        network: DesiredNetwork(name: "", arguments: [], subnets: [], dns: false), containers: [], files: [], units: [],
        directories: [])

    public func container(named name: String) -> DesiredContainer? {
        containers.first { $0.name == name }
    }

    /// Every dependency edge: `container` depends on `dependsOn`.
    public var edges: [Edge] {
        containers.flatMap { c in c.dependsOn.map { Edge(container: c.name, dependsOn: $0) } }
    }

    public struct Edge: Sendable, Equatable, Codable {
        public var container: String
        public var dependsOn: String
    }
}

public struct DesiredNetwork: Sendable, Equatable, Codable {
    public var name: String
    /// Arguments after `podman`.
    public var arguments: [String]
    public var subnets: [String]
    public var dns: Bool
}

public struct DesiredContainer: Sendable, Equatable, Codable {
    public var name: String
    public var image: String
    /// Arguments after `podman`, with `mailroom.managed`; the hash and commit labels are added at apply time.
    public var arguments: [String]
    public var dependsOn: [String]
    /// Start wave: 0 for no dependencies.
    public var level: Int
    public var hasHealthcheck: Bool
    /// Digest of the arguments and of the generated files the container consumes.
    public var renderDigest: String
    /// Generated files whose content is part of the config hash (env files, single-file mounts).
    public var consumedFiles: [String]
    /// Host paths (files or directories) whose current content is part of the config hash:
    /// read-only mounts such as Mailu's overrides, and env files Mailroom does not write.
    public var contentInputs: [String]
    /// The explicit definition, for field-by-field diffs and `--explain`.
    public var definition: ContainerDefinition
}
