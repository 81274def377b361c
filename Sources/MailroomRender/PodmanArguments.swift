import MailroomSpec

/// Renders a container as the `podman container run` argument list the guide writes by hand:
/// `--flag=value` spelling, flags in alphabetical order, then the image and its command.
public enum PodmanArguments {
    /// Labels Mailroom adds to every container it runs. Documented in the README.
    public static let managedLabel = "mailroom.managed"
    public static let hashLabel = "mailroom.config-hash"
    public static let commitLabel = "mailroom.commit"

    /// Arguments after `podman`; `extraLabels` are Mailroom's own, added at apply time.
    public static func run(_ c: ContainerDefinition, extraLabels: [KeyValue] = []) -> [String] {
        var flags: [(name: String, argument: String)] = [
            ("detach", "--detach"), ("name", "--name=\(c.name)"), ("network", "--network=\(c.network)"),
            ("quiet", "--quiet"), ("replace", "--replace"), ("tls-verify", "--tls-verify"),
        ]
        for key in ContainerKey.all { flags += arguments(of: key, in: c) }
        flags += extraLabels.map { ("label", "--label=\($0.key)=\($0.value)") }
        // A stable sort keeps repeated flags (volumes, ports) in spec order.
        let sorted = flags.enumerated().sorted { ($0.element.name, $0.offset) < ($1.element.name, $1.offset) }
        return ["container", "run"] + sorted.map(\.element.argument) + [c.image] + c.command
    }

    /// The flags one key renders to, each with its name for sorting. The image and the command
    /// are positional and `enabled` and `depends_on` are no flags: they render nothing here.
    static func arguments(of key: ContainerKey, in c: ContainerDefinition) -> [(name: String, argument: String)] {
        func flag(_ name: String, _ value: String) -> (name: String, argument: String) { (name, "--\(name)=\(value)") }
        if case .rawFlags(let property) = key.value {
            // Written whole; each sorts by its own flag name.
            return c[keyPath: property].map { (flagName($0), $0) }
        }
        guard let name = key.flags.first?.name else { return [] }
        switch key.value {
        case .text(let property): return c[keyPath: property].map { [flag(name, $0)] } ?? []
        case .list(let property): return c[keyPath: property].map { flag(name, $0) }
        case .pairs(let property): return c[keyPath: property].map { flag(name, "\($0.key)=\($0.value)") }
        case .integer(let property): return c[keyPath: property].map { [flag(name, String($0))] } ?? []
        case .healthcheck:
            guard let health = c.healthcheck else { return [] }
            let values = [
                "health-cmd": health.command, "health-interval": health.interval,
                "health-retries": health.retries.map(String.init), "health-start-period": health.startPeriod,
                "health-timeout": health.timeout,
            ]
            return key.flags.compactMap { f in values[f.name].flatMap { $0 }.map { flag(f.name, $0) } }
        case .image, .command, .enabled, .rawFlags: return []
        }
    }

    static func flagName(_ argument: String) -> String {
        argument.drop { $0 == "-" }.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
    }
}
