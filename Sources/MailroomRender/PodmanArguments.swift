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
        var flags: [(String, String)] = []
        func add(_ name: String, _ value: String? = nil) {
            flags.append((name, value.map { "--\(name)=\($0)" } ?? "--\(name)"))
        }
        if let cpuShares = c.cpuShares { add("cpu-shares", String(cpuShares)) }
        add("detach")
        for server in c.dns { add("dns", server) }
        for entry in c.env { add("env", "\(entry.key)=\(entry.value)") }
        for file in c.envFiles { add("env-file", file) }
        if let health = c.healthcheck {
            add("health-cmd", health.command)
            if let v = health.interval { add("health-interval", v) }
            if let v = health.retries { add("health-retries", String(v)) }
            if let v = health.startPeriod { add("health-start-period", v) }
            if let v = health.timeout { add("health-timeout", v) }
        }
        if let hostname = c.hostname { add("hostname", hostname) }
        if let ip = c.ip { add("ip", ip) }
        if let ip6 = c.ip6 { add("ip6", ip6) }
        for label in c.labels + extraLabels { add("label", "\(label.key)=\(label.value)") }
        if let driver = c.logDriver { add("log-driver", driver) }
        for option in c.logOptions { add("log-opt", option) }
        if let memory = c.memory { add("memory", memory) }
        if let reservation = c.memoryReservation { add("memory-reservation", reservation) }
        add("name", c.name)
        add("network", c.network)
        for port in c.ports { add("publish", port) }
        add("quiet")
        add("replace")
        if let restart = c.restart { add("restart", restart) }
        add("tls-verify")
        for volume in c.volumes { add("volume", volume) }
        for arg in c.extraArgs {
            let name = arg.drop { $0 == "-" }.split(separator: "=", maxSplits: 1).first.map(String.init) ?? arg
            flags.append((name, arg))
        }
        // A stable sort keeps repeated flags (volumes, ports) in spec order.
        let sorted = flags.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element.1)
        return ["container", "run"] + sorted + [c.image] + c.command
    }

    static func flagName(_ argument: String) -> String {
        argument.drop { $0 == "-" }.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
    }
}
