import MailroomSupport


/// A spec with the profile expanded: every container, flag and generated file spelled out.
/// `mailroom render --explain` prints it; rendering turns it into the desired state.
public struct ExplicitSpec: Sendable, Equatable, Codable {
    public var network: NetworkSpec
    public var containers: [ContainerDefinition]
    public var files: [FileDefinition]
    /// Host directories to create before containers start (the guide's `mkdir -p` list).
    public var directories: [String]
    /// The profile's application version, when its upgrades cannot be undone (a rollback refuses to lower it).
    public var application: ApplicationVersion?

    public init(network: NetworkSpec, containers: [ContainerDefinition], files: [FileDefinition], directories: [String],
                application: ApplicationVersion? = nil) {
        self.network = network
        self.containers = containers
        self.files = files
        self.directories = directories
        self.application = application
    }

    public func container(named name: String) -> ContainerDefinition? {
        containers.first { $0.name == name }
    }
}

/// One container, with every flag explicit. Field names follow `podman container run`.
public struct ContainerDefinition: Sendable, Equatable, Codable {
    public var name: String
    public var image: String
    public var hostname: String?
    public var network: String
    public var ip: String?
    public var ip6: String?
    public var dns: [String] = []
    public var env: [KeyValue] = []
    public var envFiles: [String] = []
    /// `host:container[:options]`, as podman spells it.
    public var volumes: [String] = []
    /// `[ip:]host:container[/proto]`, as podman spells it.
    public var ports: [String] = []
    public var labels: [KeyValue] = []
    public var command: [String] = []
    public var memory: String?
    public var memoryReservation: String?
    public var cpuShares: Int?
    public var restart: String?
    public var logDriver: String?
    public var logOptions: [String] = []
    public var healthcheck: Healthcheck?
    public var extraArgs: [String] = []
    public var dependsOn: [String] = []
    /// Where each field was set in the spec (by field name), for diagnostics.
    public var origins: [String: SourceLocation] = [:]

    // `origins` is bookkeeping for diagnostics, not part of the spec.
    enum CodingKeys: String, CodingKey {
        case name, image, hostname, network, ip, ip6, dns, env, envFiles = "env_files", volumes, ports, labels, command, memory
        case memoryReservation = "memory_reservation", cpuShares = "cpu_shares", restart, logDriver = "log_driver"
        case logOptions = "log_opts", healthcheck, extraArgs = "extra_args", dependsOn = "depends_on"
    }

    public init(name: String, image: String, network: String, origin: SourceLocation) {
        self.name = name
        self.image = image
        self.network = network
        self.origins["name"] = origin
    }

    public func origin(of field: String) -> SourceLocation {
        origins[field] ?? origins["name"] ?? SourceLocation(file: "mailroom.yaml", line: 1, column: 1)
    }

    /// Host paths of read-only bind mounts: configuration the container reads at start
    /// (Mailu's `/overrides`), so their content is part of its config hash.
    public var readOnlyMountSources: [String] {
        volumes.compactMap { volume in
            let parts = volume.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 3, parts[0].hasPrefix("/"),
                parts[2].split(separator: ",").contains("ro")
            else { return nil }
            return parts[0]
        }
    }

    /// Host paths of all bind mounts.
    public var mountSources: [String] {
        volumes.compactMap { volume in
            let source = volume.split(separator: ":", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            return source.hasPrefix("/") ? source : nil
        }
    }
}

/// A file Mailroom writes on the host.
public struct FileDefinition: Sendable, Equatable, Codable {
    public var path: String
    public var content: String
    public var mode: Int
    /// Values to hide when the file is printed (secrets).
    public var redactions: [String]
    /// What picks up a change when no container hashes this file (a reload command in a container).
    public var reload: Reload?

    public init(path: String, content: String, mode: Int = 0o644, redactions: [String] = [], reload: Reload? = nil) {
        self.path = path
        self.content = content
        self.mode = mode
        self.redactions = redactions
        self.reload = reload
    }

    public struct Reload: Sendable, Equatable, Codable {
        public var container: String
        public var command: [String]

        public init(container: String, command: [String]) {
            self.container = container
            self.command = command
        }
    }

    /// The content with secret values replaced, safe to print.
    public var displayContent: String {
        redactions.filter { !$0.isEmpty }.reduce(content) { $0.replacingAll($1, with: "(secret)") }
    }
}

// MARK: - Applying patches

extension ContainerDefinition {
    /// A container defined wholly in `containers:` (not from the profile).
    package init?(newFrom patch: ContainerPatch, network: String, _ d: inout DiagnosticCollector) {
        guard let image = patch.image else {
            d.report(.missingField, at: patch.location, field: "containers.\(patch.name).image",
                     "'\(patch.name)' is not a container of the profile, so it needs an image",
                     hint: "add 'image: REGISTRY/NAME:TAG', or fix the name")
            return nil
        }
        self.init(name: patch.name, image: image.value, network: network, origin: patch.location)
        restart = "always"
        apply(patch)
    }

    /// Applies a patch: maps merge by key, lists and scalars replace.
    package mutating func apply(_ patch: ContainerPatch) {
        func set<T>(_ field: String, _ keyPath: WritableKeyPath<ContainerDefinition, T>, _ value: Located<T>?) {
            guard let value else { return }
            self[keyPath: keyPath] = value.value
            origins[field] = value.location
        }
        func setOptional<T>(_ field: String, _ keyPath: WritableKeyPath<ContainerDefinition, T?>, _ value: Located<T>?) {
            guard let value else { return }
            self[keyPath: keyPath] = value.value
            origins[field] = value.location
        }
        func setList(_ field: String, _ keyPath: WritableKeyPath<ContainerDefinition, [String]>, _ values: [Located<String>]?) {
            guard let values else { return }
            self[keyPath: keyPath] = values.map(\.value)
            origins[field] = values.first?.location ?? patch.location
            for (index, value) in values.enumerated() { origins["\(field)[\(index)]"] = value.location }
        }
        set("image", \.image, patch.image)
        setOptional("hostname", \.hostname, patch.hostname)
        setOptional("ip", \.ip, patch.ip)
        setOptional("ip6", \.ip6, patch.ip6)
        setList("dns", \.dns, patch.dns)
        for entry in patch.env {
            if let index = env.firstIndex(where: { $0.key == entry.value.key }) { env[index] = entry.value } else { env.append(entry.value) }
            origins["env.\(entry.value.key)"] = entry.location
        }
        setList("env_files", \.envFiles, patch.envFiles)
        setList("volumes", \.volumes, patch.volumes)
        setList("ports", \.ports, patch.ports)
        for entry in patch.labels {
            if let index = labels.firstIndex(where: { $0.key == entry.value.key }) { labels[index] = entry.value } else { labels.append(entry.value) }
            origins["labels.\(entry.value.key)"] = entry.location
        }
        if let command = patch.command { self.command = command }
        setOptional("memory", \.memory, patch.memory)
        setOptional("memory_reservation", \.memoryReservation, patch.memoryReservation)
        if let cpuShares = patch.cpuShares { self.cpuShares = cpuShares }
        setOptional("restart", \.restart, patch.restart)
        setOptional("log_driver", \.logDriver, patch.logDriver)
        setList("log_opts", \.logOptions, patch.logOptions)
        if let healthcheck = patch.healthcheck { self.healthcheck = healthcheck }
        setList("extra_args", \.extraArgs, patch.extraArgs)
        setList("depends_on", \.dependsOn, patch.dependsOn)
    }
}
