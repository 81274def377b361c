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
    /// Objects inside the application (Mailu's domains, users, aliases), if the profile manages any.
    public var objects: ObjectStore?
    /// Private keys created once and never replaced (Mailu's DKIM keys).
    public var keys: [KeyFile]
    /// Which host this is a share of, when the spec names several (`hosts:`); `nil` for one host.
    public var layout: HostLayout?
    /// Hosts that run a deployment of their own made from this spec (a backup MX), by host
    /// name: the profile renders each whole, as it is not a share of this one.
    public var separateDeployments: [String: ExplicitSpec] = [:]

    public init(
        network: NetworkSpec, containers: [ContainerDefinition], files: [FileDefinition], directories: [String],
        application: ApplicationVersion? = nil, objects: ObjectStore? = nil, keys: [KeyFile] = []
    ) {
        self.network = network
        self.containers = containers
        self.files = files
        self.directories = directories
        self.application = application
        self.objects = objects
        self.keys = keys
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
            d.report(
                .missingField, at: patch.location, field: "containers.\(patch.name).image",
                "'\(patch.name)' is not a container of the profile, so it needs an image",
                hint: "add 'image: REGISTRY/NAME:TAG', or fix the name")
            return nil
        }
        self.init(name: patch.name, image: image.value, network: network, origin: patch.location)
        restart = "always"
        apply(patch)
    }

    /// Applies a patch key by key, as ``ContainerKey/all`` says: maps merge by key, lists and
    /// scalars replace. Where each value was written goes into `origins`, for diagnostics.
    package mutating func apply(_ patch: ContainerPatch) {
        for key in ContainerKey.all {
            guard let value = patch.values[key.name] else { continue }
            switch (key.value, value) {
            case (.text(let property), .text(let text)):
                self[keyPath: property] = text.value
                origins[key.name] = text.location
            case (.image, .text(let text)):
                image = text.value
                origins[key.name] = text.location
            case (.list(let property), .list(let items, let location)),
                (.rawFlags(let property), .list(let items, let location)):
                setList(key.name, property, items, at: location)
            case (.command, .list(let items, let location)):
                setList(key.name, \.command, items, at: location)
            case (.pairs(let property), .pairs(let entries)):
                for entry in entries {
                    if let index = self[keyPath: property].firstIndex(where: { $0.key == entry.value.key }) {
                        self[keyPath: property][index] = entry.value
                    } else {
                        self[keyPath: property].append(entry.value)
                    }
                    origins["\(key.name).\(entry.value.key)"] = entry.location
                }
            case (.integer(let property), .integer(let number)):
                self[keyPath: property] = number.value
                origins[key.name] = number.location
            case (.healthcheck, .healthcheck(let check)):
                healthcheck = check.value
                origins[key.name] = check.location
            default:
                // `enabled` is the profile's decision; the reader makes no other combination.
                continue
            }
        }
    }

    private mutating func setList(
        _ field: String, _ property: WritableKeyPath<ContainerDefinition, [String]>, _ items: [Located<String>],
        at location: SourceLocation
    ) {
        self[keyPath: property] = items.map(\.value)
        origins[field] = items.first?.location ?? location
        for (index, item) in items.enumerated() { origins["\(field)[\(index)]"] = item.location }
    }
}

// MARK: - Coding, key by key

extension ContainerDefinition {
    /// A coding key for any name: the container keys come from the table, not from an enum.
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Name and network, then every key of ``ContainerKey/all`` under its YAML name. `origins`
    /// is bookkeeping for diagnostics and is left out.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(name, forKey: Key("name"))
        try c.encode(network, forKey: Key("network"))
        for key in ContainerKey.all {
            let k = Key(key.name)
            switch key.value {
            case .text(let property): try c.encodeIfPresent(self[keyPath: property], forKey: k)
            case .image: try c.encode(image, forKey: k)
            case .list(let property), .rawFlags(let property): try c.encode(self[keyPath: property], forKey: k)
            case .pairs(let property): try c.encode(self[keyPath: property], forKey: k)
            case .integer(let property): try c.encodeIfPresent(self[keyPath: property], forKey: k)
            case .command: try c.encode(command, forKey: k)
            case .healthcheck: try c.encodeIfPresent(healthcheck, forKey: k)
            case .enabled: continue
            }
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        self.init(
            name: try c.decode(String.self, forKey: Key("name")),
            image: try c.decode(String.self, forKey: Key("image")),
            network: try c.decode(String.self, forKey: Key("network")),
            origin: SourceLocation(file: "(decoded)", line: 1, column: 1))
        origins = [:]
        for key in ContainerKey.all {
            let k = Key(key.name)
            switch key.value {
            case .text(let property): self[keyPath: property] = try c.decodeIfPresent(String.self, forKey: k)
            case .list(let property), .rawFlags(let property):
                self[keyPath: property] = try c.decodeIfPresent([String].self, forKey: k) ?? []
            case .pairs(let property): self[keyPath: property] = try c.decodeIfPresent([KeyValue].self, forKey: k) ?? []
            case .integer(let property): self[keyPath: property] = try c.decodeIfPresent(Int.self, forKey: k)
            case .command: command = try c.decodeIfPresent([String].self, forKey: k) ?? []
            case .healthcheck: healthcheck = try c.decodeIfPresent(Healthcheck.self, forKey: k)
            case .image, .enabled: continue
            }
        }
    }
}
