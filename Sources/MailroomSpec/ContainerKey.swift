import MailroomSupport

/// One key of a container in `mailroom.yaml`, declared once. Reading the YAML, patching a
/// profile container, checking values, rendering `podman container run` flags and comparing
/// with `podman container inspect` all walk ``all``: a new key is one row here and one stored
/// property on ``ContainerDefinition``.
public struct ContainerKey: Sendable {
    /// The key in `mailroom.yaml` (and in `render --explain` and JSON output).
    public let name: String
    /// Where the value lives on a ``ContainerDefinition``, and so how it is read and merged.
    package let value: Value
    /// The `podman container run` flags the key renders to, each with what
    /// `podman container inspect` reports for it. Empty for keys that are not flags.
    public let flags: [Flag]
    /// What each value must look like, beyond staying on one line.
    package let grammar: ValueGrammar

    /// A `podman container run` flag (without `--`) and how a running container shows it.
    public struct Flag: Sendable {
        public let name: String
        public let observed: ObservedField
    }

    /// The shape of a key's value and the property that holds it.
    package enum Value: Sendable {
        /// A scalar that replaces the profile's.
        case text(any WritableKeyPath<ContainerDefinition, String?> & Sendable)
        /// The image: a scalar every container has.
        case image
        /// A list that replaces the profile's list.
        case list(any WritableKeyPath<ContainerDefinition, [String]> & Sendable)
        /// podman flags written whole (`--init`, `--pids-limit=100`), a list like `list`.
        case rawFlags(any WritableKeyPath<ContainerDefinition, [String]> & Sendable)
        /// A map merged key by key into the profile's (env, labels).
        case pairs(any WritableKeyPath<ContainerDefinition, [KeyValue]> & Sendable)
        case integer(any WritableKeyPath<ContainerDefinition, Int?> & Sendable)
        /// The command: a list, or a string split on spaces.
        case command
        /// A mapping of its own (`command`, `interval`, `timeout`, `retries`, `start_period`).
        case healthcheck
        /// `enabled: false` drops a container; it is no property of one.
        case enabled
    }

    /// Every container key, in the order the README lists them.
    public static let all: [ContainerKey] = [
        ContainerKey("enabled", .enabled),
        ContainerKey("image", .image, flags: [Flag(name: "image", observed: .image)], grammar: .image),
        ContainerKey(
            "hostname", .text(\.hostname), flags: [Flag(name: "hostname", observed: .hostname)], grammar: .hostname),
        ContainerKey("ip", .text(\.ip), flags: [Flag(name: "ip", observed: .ipv4)], grammar: .ipv4Address),
        ContainerKey("ip6", .text(\.ip6), flags: [Flag(name: "ip6", observed: .ipv6)], grammar: .ipv6Address),
        ContainerKey("dns", .list(\.dns), flags: [Flag(name: "dns", observed: .dns)], grammar: .ipAddress),
        ContainerKey("env", .pairs(\.env), flags: [Flag(name: "env", observed: .env)], grammar: .environment),
        ContainerKey(
            "env_files", .list(\.envFiles), flags: [Flag(name: "env-file", observed: .env)], grammar: .hostPath),
        ContainerKey("volumes", .list(\.volumes), flags: [Flag(name: "volume", observed: .volumes)], grammar: .volume),
        ContainerKey("ports", .list(\.ports), flags: [Flag(name: "publish", observed: .ports)], grammar: .portMapping),
        ContainerKey("labels", .pairs(\.labels), flags: [Flag(name: "label", observed: .labels)], grammar: .labels),
        ContainerKey("command", .command, flags: [Flag(name: "command", observed: .command)]),
        ContainerKey("memory", .text(\.memory), flags: [Flag(name: "memory", observed: .memoryBytes)], grammar: .size),
        ContainerKey(
            "memory_reservation", .text(\.memoryReservation),
            flags: [Flag(name: "memory-reservation", observed: .memoryReservationBytes)], grammar: .size),
        ContainerKey(
            "cpu_shares", .integer(\.cpuShares), flags: [Flag(name: "cpu-shares", observed: .cpuShares)],
            grammar: .nonNegative),
        ContainerKey(
            "restart", .text(\.restart), flags: [Flag(name: "restart", observed: .restartPolicy)],
            grammar: .restartPolicy),
        ContainerKey(
            "log_driver", .text(\.logDriver), flags: [Flag(name: "log-driver", observed: .logDriver)],
            grammar: .logDriver),
        ContainerKey(
            "log_opts", .list(\.logOptions), flags: [Flag(name: "log-opt", observed: .logOptions)], grammar: .logOption),
        ContainerKey(
            "healthcheck", .healthcheck,
            flags: [
                Flag(name: "health-cmd", observed: .healthCommand),
                Flag(name: "health-interval", observed: .notReported),
                Flag(name: "health-retries", observed: .notReported),
                Flag(name: "health-start-period", observed: .notReported),
                Flag(name: "health-timeout", observed: .notReported),
            ],
            grammar: .healthcheck),
        ContainerKey("extra_args", .rawFlags(\.extraArgs), grammar: .podmanFlag),
        ContainerKey("depends_on", .list(\.dependsOn), grammar: .containerName),
    ]

    /// The keys of `all`, for "unknown key" messages.
    package static let names = all.map(\.name)

    /// Flags every container gets from the engine, not from a key.
    public static let engineFlags: [Flag] = [
        Flag(name: "network", observed: .network),
        Flag(name: "name", observed: .notReported),
        Flag(name: "detach", observed: .notReported),
        Flag(name: "quiet", observed: .notReported),
        Flag(name: "replace", observed: .notReported),
        Flag(name: "tls-verify", observed: .notReported),
    ]

    /// What `podman container inspect` reports for a flag; `nil` for a flag no key renders
    /// (one from `extra_args`, which cannot be compared).
    public static func observed(flag: String) -> ObservedField? {
        observedByFlag[flag]
    }

    private static let observedByFlag: [String: ObservedField] = Dictionary(
        (all.flatMap(\.flags) + engineFlags).map { ($0.name, $0.observed) }, uniquingKeysWith: { first, _ in first })

    init(_ name: String, _ value: Value, flags: [Flag] = [], grammar: ValueGrammar = .text) {
        self.name = name
        self.value = value
        self.flags = flags
        self.grammar = grammar
    }
}

/// How `podman container inspect` shows a flag's value, so that a running container (made by
/// Mailroom or by hand) can be compared with the spec field by field. The plan stage maps each
/// case to the inspect field; the compiler makes it handle a new case.
public enum ObservedField: Sendable, Equatable {
    case image, hostname, ipv4, ipv6, network, dns, env, labels, volumes, ports, command, healthCommand
    case restartPolicy, memoryBytes, memoryReservationBytes, cpuShares, logDriver, logOptions
    /// podman does not report it back (`--init`, health intervals): it cannot be compared.
    case notReported
}

/// One key's value in `containers:`, as written, with where each part was written.
public enum PatchValue: Sendable, Equatable {
    case text(Located<String>)
    case list([Located<String>], at: SourceLocation)
    case pairs([Located<KeyValue>])
    case integer(Located<Int>)
    case healthcheck(Located<Healthcheck>)
    case enabled(Bool)
}
