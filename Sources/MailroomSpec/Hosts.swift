import MailroomSupport

/// One machine of a deployment spread over several (`hosts:`): its address on the private
/// network the hosts share, the part of the network's subnet its containers get, and the
/// containers it runs. Without `hosts:` a spec describes one host, as it always did.
public struct HostSpec: Sendable, Equatable, Codable {
    public var name: String
    /// The address the other hosts reach it at (the VPC's private network).
    public var address: String
    /// Its IPv6 address on the private network, when declared: the next hop of the other
    /// hosts' routes to its `subnet6`.
    public var address6: String?
    /// Its containers' subnet: declared, or its share of `network.subnet` split evenly.
    public var subnet: String
    public var subnet6: String?
    public var gateway: String
    public var gateway6: String?
    /// The containers placed here, as named in the profile or in `containers:` (without the prefix).
    public var containers: [String]
    /// The memory it has, in bytes, when declared.
    public var memoryBytes: Int64?
    public var role: Role
    /// A backup MX's own public name and addresses: it receives mail from the internet itself.
    /// Members share the deployment's.
    public var hostname: String?
    public var publicIPv4: String?
    public var publicIPv6: String?
    public var location: SourceLocation

    public enum Role: String, Sendable, Equatable, Codable {
        /// Runs its share of the one deployment.
        case member
        /// A receiving-only mail server of its own, relaying to the primary: not a share of
        /// the deployment but a deployment of its own, with its own subnet outside the trusted one.
        case backupMX = "backup-mx"
    }

    public var isMember: Bool { role == .member }

    public var ipv4Subnet: Subnet? { Subnet(subnet) }
    public var ipv6Subnet: Subnet? { subnet6.flatMap(Subnet.init) }

    /// The network as this host creates it: the spec's name, this host's subnets.
    public func network(from whole: NetworkSpec) -> NetworkSpec {
        var network = whole
        network.subnet = subnet
        network.gateway = gateway
        network.subnet6 = subnet6
        network.gateway6 = gateway6
        return network
    }
}

/// Where each container runs, and which host this machine is.
public struct HostLayout: Sendable, Equatable, Codable {
    public var hosts: [HostSpec]
    /// The host this render is for.
    public var current: String
    /// Advice for each host by name (too little memory for what it runs); the plan shows it.
    public var warnings: [String: [String]]
    /// The whole network's subnet, which Mailu trusts (`SUBNET`).
    public var trustedSubnet: String
    /// The whole network's `subnet6`, when it has one.
    public var trustedSubnet6: String?

    public init(
        hosts: [HostSpec], current: String, warnings: [String: [String]] = [:], trustedSubnet: String = "",
        trustedSubnet6: String? = nil
    ) {
        self.hosts = hosts
        self.current = current
        self.warnings = warnings
        self.trustedSubnet = trustedSubnet
        self.trustedSubnet6 = trustedSubnet6
    }

    public var currentHost: HostSpec? { hosts.first { $0.name == current } }

    /// The host a container (named without the prefix) runs on: the one listing it, else the
    /// first member (a backup MX runs none of the deployment's containers).
    public static func host(of container: String, in hosts: [HostSpec]) -> HostSpec? {
        hosts.first { $0.containers.contains(container) } ?? hosts.first(where: \.isMember)
    }

    /// A warning for each member host whose containers have IPv6 addresses that the routes
    /// cannot carry to another member's: IPv6 is routed only between hosts that both declare
    /// `address6`, and silently crossing over IPv4 only would surprise.
    public static func ipv6Warnings(_ hosts: [HostSpec]) -> [String: [String]] {
        let dualStack = hosts.filter { $0.isMember && $0.subnet6 != nil }
        var warnings: [String: [String]] = [:]
        for host in dualStack {
            let unrouted = dualStack.filter { $0.name != host.name && (host.address6 == nil || $0.address6 == nil) }
            guard !unrouted.isEmpty else { continue }
            let missing = ([host] + unrouted).filter { $0.address6 == nil }.map { "'\($0.name)'" }
            let names = unrouted.map { "'\($0.name)'" }.joined(separator: ", ")
            warnings[host.name, default: []].append(
                "IPv6 is not routed between host '\(host.name)' and \(names): "
                    + "\(missing.joined(separator: ", ")) declare\(missing.count == 1 ? "s" : "") no address6, "
                    + "so their containers reach each other over IPv4 only; give each host address6, "
                    + "its IPv6 address on the private network")
        }
        return warnings
    }
}

extension SpecLoader {
    static let hostKeys = [
        "address", "address6", "subnet", "subnet6", "containers", "memory", "role", "hostname", "public_ipv4",
        "public_ipv6",
    ]

    /// `hosts:`: a mapping of host name to its settings. The network's subnet is split evenly
    /// among the members, in order, so the first keeps the addresses a single-host spec has; a
    /// declared `subnet` replaces a member's part. A backup MX declares its own, outside.
    static func readHosts(_ node: SpecNode?, network: NetworkSpec?, _ d: inout DiagnosticCollector) -> [HostSpec] {
        guard let node, !node.isNull, let entries = node.freeMapping(&d) else { return [] }
        var hosts: [HostSpec] = []
        var declaredSubnet: [Bool] = []
        for entry in entries {
            let field = "hosts.\(entry.key)"
            if !isName(entry.key) {
                d.report(
                    .invalidValue, at: entry.keyLocation, field: field, "'\(entry.key)' is not a valid host name",
                    hint: "letters, digits, '-', '_' and '.', starting with a letter or digit")
            }
            guard let m = entry.value.mapping(allowed: hostKeys, &d) else { continue }
            var host = HostSpec(
                name: entry.key, address: "", address6: nil, subnet: "", subnet6: nil, gateway: "", gateway6: nil,
                containers: [],
                memoryBytes: nil, role: .member, location: entry.keyLocation)
            if let r = m["role"], let text = r.string(&d) {
                if let role = HostSpec.Role(rawValue: text) {
                    host.role = role
                } else {
                    d.report(
                        .invalidValue, at: r.location, field: "\(field).role", "'\(text)' is not a host role",
                        hint: "leave it out, or write backup-mx")
                }
            }
            // A backup MX talks to the primary over the internet: its private address is optional.
            let address =
                host.isMember
                ? m.required("address", &d, hint: "its address on the private network, e.g. 10.0.0.2") : m["address"]
            if let a = address, let text = a.string(&d) {
                host.address = text
                if IPAddress(text) == nil {
                    d.report(.invalidValue, at: a.location, field: "\(field).address", "'\(text)' is not an IP address")
                }
            }
            if let a = m["address6"], let text = a.string(&d) {
                host.address6 = text
                if IPAddress(text)?.isV6 != true {
                    d.report(
                        .invalidValue, at: a.location, field: "\(field).address6", "'\(text)' is not an IPv6 address",
                        hint: "its IPv6 address on the private network, e.g. fd00:0:0:1::2")
                }
            }
            if let s = m["subnet"], let text = s.string(&d) {
                host.subnet = text
                if Subnet(text).map({ $0.network.isV6 }) != false {
                    d.report(
                        .invalidValue, at: s.location, field: "\(field).subnet", "'\(text)' is not an IPv4 subnet",
                        hint: host.isMember ? "a part of network.subnet, e.g. 10.90.1.0/24" : "e.g. 10.91.0.0/24")
                }
            } else if !host.isMember {
                d.report(
                    .missingField, at: entry.keyLocation, field: "\(field).subnet",
                    "a backup MX needs a container subnet of its own",
                    hint: "a subnet outside network.subnet\(network.map { " \($0.subnet)" } ?? ""), e.g. 10.91.0.0/24")
            }
            if let s = m["subnet6"], let text = s.string(&d) {
                host.subnet6 = text
                if Subnet(text).map({ $0.network.isV6 }) != true {
                    d.report(
                        .invalidValue, at: s.location, field: "\(field).subnet6", "'\(text)' is not an IPv6 subnet")
                }
            }
            if let c = m["containers"], let names = c.stringList(&d) {
                host.containers = names.map(\.0)
                if !host.isMember {
                    d.report(
                        .invalidValue, at: c.location, field: "\(field).containers",
                        "a backup MX runs the profile's receiving set, not containers of the deployment",
                        hint: "remove containers: here, and place them on a member host")
                }
            }
            if let mem = m["memory"], let text = mem.string(&d) {
                host.memoryBytes = Grammar.bytes(text)
                if host.memoryBytes == nil {
                    d.report(
                        .invalidValue, at: mem.location, field: "\(field).memory", "'\(text)' is not a size",
                        hint: "for example 2g or 512m")
                }
            }
            readPublicIdentity(m, into: &host, field: field, &d)
            declaredSubnet.append(m["subnet"] != nil)
            hosts.append(host)
        }
        splitNetwork(&hosts, declared: declaredSubnet, network: network, at: node, &d)
        if !hosts.isEmpty, !hosts.contains(where: \.isMember) {
            d.report(
                .invalidValue, at: node.location, field: "hosts", "every host is a backup MX: none runs the deployment",
                hint: "add the primary host, without role")
        }
        checkHosts(hosts, network: network, &d)
        checkAddresses6(hosts, network: network, &d)
        return hosts
    }

    /// `hostname`, `public_ipv4`, `public_ipv6`: a backup MX's own, required; a member's are the deployment's.
    private static func readPublicIdentity(
        _ m: MappingReader, into host: inout HostSpec, field: String, _ d: inout DiagnosticCollector
    ) {
        guard !host.isMember else {
            for key in ["hostname", "public_ipv4", "public_ipv6"] {
                guard let n = m[key] else { continue }
                d.report(
                    .invalidValue, at: n.location, field: "\(field).\(key)",
                    "only a backup MX has a public \(key == "hostname" ? "name" : "address") of its own",
                    hint: "members share the deployment's; remove \(key) here, or add role: backup-mx")
            }
            return
        }
        if let n = m.required("hostname", &d, hint: "its public name, the MX target, e.g. mx2.example.com"),
            let text = n.string(&d)
        {
            host.hostname = text.lowercased()
            if !Grammar.isHostname(text, requireDot: true) {
                d.report(.invalidHostname, at: n.location, field: "\(field).hostname", "'\(text)' is not a host name")
            }
        }
        if let n = m.required("public_ipv4", &d, hint: "the public IPv4 address its port 25 is published on"),
            let text = n.string(&d)
        {
            host.publicIPv4 = text
            if IPAddress(text).map({ !$0.isV6 }) != true {
                d.report(
                    .invalidValue, at: n.location, field: "\(field).public_ipv4", "'\(text)' is not an IPv4 address")
            }
        }
        if let n = m["public_ipv6"], let text = n.string(&d) {
            host.publicIPv6 = text
            if IPAddress(text)?.isV6 != true {
                d.report(
                    .invalidValue, at: n.location, field: "\(field).public_ipv6", "'\(text)' is not an IPv6 address")
            }
        }
    }

    /// Gives each member without a declared `subnet` its part of the network's, and every host
    /// its gateway (where the network's sits in its subnet).
    private static func splitNetwork(
        _ hosts: inout [HostSpec], declared: [Bool], network: NetworkSpec?, at node: SpecNode,
        _ d: inout DiagnosticCollector
    ) {
        guard let network else { return }
        let members = hosts.indices.filter { hosts[$0].isMember }
        let parts = network.ipv4Subnet?.split(into: members.count)
        let parts6 = network.ipv6Subnet?.split(into: members.count)
        if network.ipv4Subnet != nil, parts == nil, !members.isEmpty {
            d.report(
                .invalidValue, at: node.location, field: "hosts",
                "network.subnet \(network.subnet) is too small to split among \(members.count) hosts",
                hint: "widen network.subnet, or give each host its own 'subnet' inside it")
        }
        for (part, index) in members.enumerated() {
            if !declared[index] { hosts[index].subnet = parts?[part].description ?? "" }
            if hosts[index].subnet6 == nil { hosts[index].subnet6 = parts6?[part].description }
        }
        for index in hosts.indices {
            hosts[index].gateway = gateway(network.gateway, in: hosts[index].ipv4Subnet) ?? ""
            hosts[index].gateway6 = network.gateway6.flatMap { gateway($0, in: hosts[index].ipv6Subnet) }
        }
    }

    /// A host's gateway sits where the network's does: `10.90.0.1` makes `10.90.128.1`.
    private static func gateway(_ text: String, in part: Subnet?) -> String? {
        guard let part, let address = IPAddress(text) else { return nil }
        return part.samePlace(as: address)?.description
    }

    /// IPv6 addresses used once and outside every container subnet6 (a route to a subnet
    /// through an address inside it leads nowhere).
    private static func checkAddresses6(_ hosts: [HostSpec], network: NetworkSpec?, _ d: inout DiagnosticCollector) {
        let named =
            hosts.map { ($0.ipv6Subnet, "host '\($0.name)''s subnet6") } + [(network?.ipv6Subnet, "network.subnet6")]
        let containerSubnets = named.compactMap { subnet, owner in subnet.map { (subnet: $0, owner: owner) } }
        var seen: [IPAddress: String] = [:]
        for host in hosts {
            guard let text = host.address6, let address = IPAddress(text), address.isV6 else { continue }
            let field = "hosts.\(host.name).address6"
            if let other = seen[address] {
                d.report(
                    .duplicateAddress, at: host.location, field: field,
                    "\(text) is also the address6 of host '\(other)'",
                    hint: "each host has its own address on the private network")
            }
            seen[address] = host.name
            if let inside = containerSubnets.first(where: { $0.subnet.contains(address) }) {
                d.report(
                    .invalidValue, at: host.location, field: field,
                    "\(text) lies inside \(inside.owner) \(inside.subnet)",
                    hint: "the private network and the container subnets must be apart")
            }
        }
    }

    /// Addresses used once, subnets inside the network's and apart, containers placed once.
    private static func checkHosts(_ hosts: [HostSpec], network: NetworkSpec?, _ d: inout DiagnosticCollector) {
        var addresses: [String: String] = [:]
        var placed: [String: String] = [:]
        for (index, host) in hosts.enumerated() {
            let field = "hosts.\(host.name)"
            if let other = addresses[host.address], !host.address.isEmpty {
                d.report(
                    .duplicateAddress, at: host.location, field: "\(field).address",
                    "\(host.address) is also the address of host '\(other)'",
                    hint: "each host has its own address on the private network")
            }
            if !host.address.isEmpty { addresses[host.address] = host.name }
            for container in host.containers {
                if let other = placed[container] {
                    d.report(
                        .duplicateName, at: host.location, field: "\(field).containers",
                        "'\(container)' is placed on host '\(other)' too", hint: "list each container under one host")
                }
                placed[container] = host.name
            }
            guard let whole = network?.ipv4Subnet, let subnet = host.ipv4Subnet else { continue }
            let trusted = whole.covers(subnet)
            if !host.isMember {
                // A backup MX is another mail server: inside SUBNET, Mailu would relay for it unasked.
                if whole.overlaps(subnet) {
                    d.report(
                        .invalidValue, at: host.location, field: "\(field).subnet",
                        "the backup MX's subnet \(subnet) lies inside the primary's trusted SUBNET \(whole)",
                        hint: "give the backup MX a subnet of its own outside \(whole)")
                }
                if let whole6 = network?.ipv6Subnet, let subnet6 = host.ipv6Subnet, whole6.overlaps(subnet6) {
                    d.report(
                        .invalidValue, at: host.location, field: "\(field).subnet6",
                        "the backup MX's subnet6 \(subnet6) lies inside the primary's network.subnet6 \(whole6)",
                        hint: "give the backup MX an IPv6 subnet of its own, or none")
                }
                continue
            }
            if !trusted {
                d.report(
                    .addressOutsideSubnet, at: host.location, field: "\(field).subnet",
                    "\(subnet) is not inside network.subnet \(whole), the subnet Mailu trusts",
                    hint: "pick a part of \(whole)")
            }
            if let address = IPAddress(host.address), subnet.contains(address) {
                d.report(
                    .invalidValue, at: host.location, field: "\(field).address",
                    "\(host.address) lies inside the host's own container subnet \(subnet)",
                    hint: "the private network and the container subnets must be apart")
            }
            for other in hosts[..<index] where other.isMember {
                if let o = other.ipv4Subnet, o.overlaps(subnet) {
                    d.report(
                        .invalidValue, at: host.location, field: "\(field).subnet",
                        "\(subnet) overlaps host '\(other.name)''s subnet \(o)",
                        hint: "the hosts' subnets must be disjoint parts of \(whole)")
                }
            }
        }
    }
}

extension ExplicitSpec {
    /// One host's share of a spec spread over several: its network, its containers (their
    /// dependencies on other hosts' containers dropped: systemd orders only local units), the
    /// files and directories they mount, and the objects and keys if their container is here.
    package func share(for host: HostSpec, of hosts: [HostSpec], prefix: String) -> ExplicitSpec {
        let here = containers.filter { c in
            let name = c.name.hasPrefix(prefix) ? String(c.name.dropFirst(prefix.count)) : c.name
            return HostLayout.host(of: name, in: hosts)?.name == host.name
        }
        let local = Set(here.map(\.name))
        let elsewhere = Set(containers.map(\.name)).subtracting(local)
        var share = self
        share.network = host.network(from: network)
        share.containers = here.map { c in
            var c = c
            c.dependsOn.removeAll(where: elsewhere.contains)
            // An address the profile numbered comes from the host's part, not from `network:`.
            for field in ["ip", "ip6"] where c.origins[field] == network.location { c.origins[field] = host.location }
            return c
        }
        let sources = here.flatMap { $0.mountSources + $0.envFiles }.map(\.trimmingTrailingSlash)
        func mounted(_ path: String) -> Bool {
            sources.contains { path == $0 || path.hasPrefix($0 + "/") }
        }
        share.files = files.filter { file in
            mounted(file.path) || file.reload.map { local.contains($0.container) } == true
        }
        share.directories = directories.filter { directory in
            let d = directory.trimmingTrailingSlash
            return mounted(d) || sources.contains { $0.hasPrefix(d + "/") }
        }
        share.objects = objects.flatMap { local.contains($0.container) ? $0 : nil }
        share.keys = keys.filter { mounted($0.path) }
        share.separateDeployments = [:]
        share.layout = HostLayout(
            hosts: hosts, current: host.name,
            warnings: (layout?.warnings ?? [:]).merging(HostLayout.ipv6Warnings(hosts), uniquingKeysWith: +),
            trustedSubnet: network.subnet, trustedSubnet6: network.subnet6)
        return share
    }

    /// What one host runs: a member its share, a backup MX the deployment the profile made
    /// for it (`nil` when the profile makes none).
    package func deployment(for host: HostSpec, of hosts: [HostSpec], prefix: String) -> ExplicitSpec? {
        guard !host.isMember else { return share(for: host, of: hosts, prefix: prefix) }
        guard var own = separateDeployments[host.name] else { return nil }
        // Its own SUBNET is the one it trusts; it has no routes to the members.
        own.layout = HostLayout(
            hosts: hosts, current: host.name, warnings: layout?.warnings ?? [:], trustedSubnet: host.subnet)
        return own
    }
}
