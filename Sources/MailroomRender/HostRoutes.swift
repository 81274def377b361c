import MailroomSpec
import MailroomSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which host of a spec this machine is, when `--host` does not say.
package enum HostSelection {
    /// The short hostname (`mail-a` of `mail-a.example.com`).
    package static func machineHostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(name.split(separator: ".").first ?? "")
    }
}

/// The unit that joins one host to the others: a route to each other host's container subnet
/// through its private address, and firewall chains that admit into this host's containers
/// only the other hosts' subnets and keep the container addresses on the way (netavark would
/// masquerade them to the host's address, which Mailu does not trust).
public enum HostRoutes {
    public static let fileName = "mailroom-hosts.service"
    static let chain = "MAILROOM-HOSTS"

    /// One command of the unit; `mayFail` is systemd's `-` prefix (a chain that already exists).
    public struct Command: Sendable, Equatable {
        public var arguments: [String]
        public var mayFail: Bool
    }

    /// The commands, in order; re-running them gives the same routes and rules. IPv6 comes
    /// after IPv4, and only towards hosts that, like this one, declare `address6` (the plan
    /// warns about the others: `HostLayout.ipv6Warnings`).
    public static func commands(_ layout: HostLayout, network: NetworkSpec) -> [Command] {
        let others = layout.hosts.filter { $0.name != layout.current && $0.isMember }
        // A backup MX reaches the primary over the internet, like any other sender.
        guard let current = layout.currentHost, current.isMember, !others.isEmpty else { return [] }
        var commands = Family.ipv4.commands(
            own: current.subnet, peers: others.map { Peer(subnet: $0.subnet, address: $0.address) },
            trusted: layout.trustedSubnet)
        let peers6 = others.compactMap { other in
            other.subnet6.flatMap { subnet in other.address6.map { Peer(subnet: subnet, address: $0) } }
        }
        if let own6 = current.subnet6, current.address6 != nil, !peers6.isEmpty {
            commands += Family.ipv6.commands(own: own6, peers: peers6, trusted: layout.trustedSubnet6 ?? "")
        }
        return commands
    }

    /// Another host as one address family sees it: its containers' subnet and its address.
    struct Peer {
        var subnet: String
        var address: String
    }

    /// One address family's tools: `ip` (`ip -6`) and `iptables` (`ip6tables`), whose rules
    /// have the same shape in both.
    struct Family {
        var route: [String]
        var firewall: [String]

        static let ipv4 = Family(route: ["/usr/sbin/ip"], firewall: ["/usr/sbin/iptables", "-w"])
        static let ipv6 = Family(route: ["/usr/sbin/ip", "-6"], firewall: ["/usr/sbin/ip6tables", "-w"])

        /// Routes to the peers' subnets; a filter chain admitting into `own` only the peers'
        /// subnets (and dropping anything else claiming an address in `trusted`); a nat chain
        /// keeping the container addresses towards the peers.
        func commands(own: String, peers: [Peer], trusted: String) -> [Command] {
            func rule(_ arguments: [String], mayFail: Bool = false) -> Command {
                Command(arguments: arguments, mayFail: mayFail)
            }
            let nat = firewall + ["-t", "nat"]
            var commands = peers.map { rule(route + ["route", "replace", $0.subnet, "via", $0.address]) }
            commands += [rule(firewall + ["-N", chain], mayFail: true), rule(firewall + ["-F", chain])]
            commands += peers.map { rule(firewall + ["-A", chain, "-s", $0.subnet, "-d", own, "-j", "ACCEPT"]) }
            commands.append(rule(firewall + ["-A", chain, "-s", own, "-d", own, "-j", "RETURN"]))
            if !trusted.isEmpty {
                // Anything else claiming an address Mailu trusts is spoofed.
                commands.append(rule(firewall + ["-A", chain, "-s", trusted, "-d", own, "-j", "DROP"]))
            }
            commands += [
                rule(firewall + ["-D", "FORWARD", "-j", chain], mayFail: true),
                rule(firewall + ["-I", "FORWARD", "1", "-j", chain]),
                rule(nat + ["-N", chain], mayFail: true),
                rule(nat + ["-F", chain]),
            ]
            commands += peers.map { rule(nat + ["-A", chain, "-s", own, "-d", $0.subnet, "-j", "ACCEPT"]) }
            commands += [
                rule(nat + ["-D", "POSTROUTING", "-j", chain], mayFail: true),
                rule(nat + ["-I", "POSTROUTING", "1", "-j", chain]),
            ]
            return commands
        }
    }

    /// The oneshot unit running the commands at boot, before any container.
    public static func unit(_ layout: HostLayout, network: NetworkSpec, unitsDirectory: String) -> FileDefinition? {
        let commands = commands(layout, network: network)
        guard !commands.isEmpty else { return nil }
        let others = layout.hosts.filter { $0.name != layout.current && $0.isMember }.map(\.name)
        var lines = [
            "# \(fileName)",
            "# generated by Mailroom: host '\(layout.current)' of \(layout.hosts.map(\.name).joined(separator: ", "))",
            "",
            "[Unit]",
            "Description=Mailroom: routes and firewall towards host\(others.count == 1 ? "" : "s") \(others.joined(separator: ", "))",
            "Wants=network-online.target",
            "After=network-online.target",
            "",
            "[Service]",
            "Type=oneshot",
            "RemainAfterExit=yes",
        ]
        lines += commands.map { "ExecStart=\($0.mayFail ? "-" : "")\($0.arguments.joined(separator: " "))" }
        lines += ["", "[Install]", "WantedBy=multi-user.target", ""]
        return FileDefinition(
            path: "\(unitsDirectory.trimmingTrailingSlash)/\(fileName)", content: lines.joined(separator: "\n"))
    }

    /// Reads the commands back from the unit's `ExecStart=` lines: what systemd runs.
    public static func commands(inUnit text: String) -> [Command] {
        text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("ExecStart=") else { return nil }
            var rest = line.dropFirst("ExecStart=".count)
            let mayFail = rest.hasPrefix("-")
            if mayFail { rest = rest.dropFirst() }
            return Command(arguments: rest.split(separator: " ").map(String.init), mayFail: mayFail)
        }
    }
}
