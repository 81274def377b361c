import MailroomSupport

/// Checks an expanded spec: every value of every container key against its grammar (from
/// ``ContainerKey/all``), then what holds between containers: names, addresses and ports used
/// once, dependencies that exist and form no cycle. Every problem is collected; an invalid
/// spec renders nothing.
package enum Validator {
    package static func validate(_ spec: ExplicitSpec, _ d: inout DiagnosticCollector) {
        var shared = SharedResources(spec)
        for c in spec.containers {
            checkName(c, &shared, &d)
            for key in ContainerKey.all {
                for value in values(of: key, in: c) {
                    // Whatever the grammar, text that reaches an argument, a unit or a file stays on one line.
                    if key.grammar == .environment {
                        checkEnvValue(value.text, value.location, value.field, &d)
                    } else {
                        checkText((value.name ?? "") + value.text, value.location, value.field, &d)
                    }
                    check(key.grammar, value, of: c, &shared, &d)
                }
            }
        }
        for cycle in DependencyGraph(spec.containers).cycles {
            let first = spec.containers.first { $0.name == cycle[0] }
            d.report(.dependencyCycle, at: first?.origin(of: "depends_on") ?? spec.network.location, field: "containers.\(cycle[0]).depends_on",
                     "depends_on forms a cycle: \((cycle + [cycle[0]]).joined(separator: " → "))", hint: "remove one of these edges")
        }
    }

    /// What containers share and must not both claim: names, addresses, published ports.
    struct SharedResources {
        let names: Set<String>
        let v4: Subnet?, v6: Subnet?
        let gateways: [IPAddress]
        var seenNames: [String: SourceLocation] = [:]
        var addresses: [IPAddress: String] = [:]
        var ports: [(key: PortKey, container: String)] = []

        init(_ spec: ExplicitSpec) {
            names = Set(spec.containers.map(\.name))
            v4 = spec.network.ipv4Subnet
            v6 = spec.network.ipv6Subnet
            gateways = [spec.network.gateway, spec.network.gateway6].compactMap { $0 }.compactMap(IPAddress.init)
        }
    }

    /// One value of a key on one container: its text, the dotted field and where it was written.
    struct Value {
        var text: String
        var field: String
        var location: SourceLocation
        /// The variable or label name, for map keys.
        var name: String?
        /// Whether the user wrote it (patch) rather than the profile (derived from settings that were checked).
        var written: Bool
    }

    static func values(of key: ContainerKey, in c: ContainerDefinition) -> [Value] {
        let field = "containers.\(c.name).\(key.name)"
        let location = c.origin(of: key.name)
        func list(_ items: [String]) -> [Value] {
            items.enumerated().map { index, item in
                let written = c.origins["\(key.name)[\(index)]"]
                return Value(text: item, field: field, location: written ?? location, written: written != nil)
            }
        }
        switch key.value {
        case .text(let property):
            return c[keyPath: property].map { [Value(text: $0, field: field, location: location, written: true)] } ?? []
        case .image: return [Value(text: c.image, field: field, location: location, written: true)]
        case .list(let property), .rawFlags(let property): return list(c[keyPath: property])
        case .command: return list(c.command)
        case .pairs(let property):
            return c[keyPath: property].map { entry in
                let written = c.origins["\(key.name).\(entry.key)"]
                return Value(text: entry.value, field: "\(field).\(entry.key)", location: written ?? location, name: entry.key,
                             written: written != nil)
            }
        case .integer(let property):
            return c[keyPath: property].map { [Value(text: String($0), field: field, location: location, written: true)] } ?? []
        case .healthcheck:
            guard let h = c.healthcheck else { return [] }
            return [h.command, h.interval, h.timeout, h.startPeriod].compactMap { $0 }
                .map { Value(text: $0, field: field, location: location, written: true) }
        case .enabled: return []
        }
    }

    static func checkName(_ c: ContainerDefinition, _ shared: inout SharedResources, _ d: inout DiagnosticCollector) {
        let field = "containers.\(c.name)"
        if let first = shared.seenNames[c.name] {
            d.report(.duplicateName, at: c.origin(of: "name"), field: field, "container '\(c.name)' is defined twice (first at \(first))")
        }
        shared.seenNames[c.name] = c.origin(of: "name")
        if !SpecLoader.isName(c.name) {
            d.report(.invalidValue, at: c.origin(of: "name"), field: field, "'\(c.name)' is not a valid container name",
                     hint: "letters, digits, '-', '_' and '.', starting with a letter or digit")
        }
    }

    /// Checks one value against its key's grammar.
    static func check(_ grammar: ValueGrammar, _ v: Value, of c: ContainerDefinition, _ shared: inout SharedResources,
                      _ d: inout DiagnosticCollector) {
        switch grammar {
        case .text: break
        case .image:
            if !imageHasTag(v.text) {
                d.report(.imageWithoutTag, at: v.location, field: v.field, "image '\(v.text)' has no tag",
                         hint: "pin a tag or digest, e.g. \(v.text):2.0, so a deploy is repeatable")
            }
        case .hostname:
            if !isHostname(v.text, requireDot: false) {
                d.report(.invalidHostname, at: v.location, field: v.field, "'\(v.text)' is not an RFC 1123 hostname",
                         hint: "letters, digits and '-', labels of at most 63")
            }
        case .ipv4Address, .ipv6Address:
            checkAddress(v, v6: grammar == .ipv6Address, of: c, &shared, &d)
        case .environment:
            if let name = v.name, !SpecLoader.isEnvKey(name) {
                d.report(.invalidEnv, at: v.location, field: v.field, "'\(name)' is not a valid variable name",
                         hint: "use letters, digits and underscores")
            }
        case .hostPath:
            // Paths the profile derived from settings were checked with those settings.
            if v.written { checkHostPath(v.text, v.location, v.field, &d) }
        case .volume:
            let parts = v.text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 || parts.count == 3, parts[1].hasPrefix("/") else {
                d.report(.invalidValue, at: v.location, field: v.field, "'\(v.text)' is not a volume",
                         hint: "write /HOST/PATH:/CONTAINER/PATH[:ro], or NAME:/CONTAINER/PATH")
                return
            }
            if v.written, parts[0].contains("/") || parts[0].hasPrefix(".") { checkHostPath(parts[0], v.location, v.field, &d) }
        case .portMapping:
            guard let key = PortKey(v.text) else {
                d.report(.invalidValue, at: v.location, field: v.field, "'\(v.text)' is not a port mapping",
                         hint: "write [IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]")
                return
            }
            if let clash = shared.ports.first(where: { $0.key.collides(with: key) }) {
                d.report(.portCollision, at: v.location, field: v.field,
                         "host port \(key.hostPort)/\(key.proto) is already published by '\(clash.container)'",
                         hint: "publish on another port or address")
            }
            shared.ports.append((key, c.name))
        case .podmanFlag:
            if !v.text.hasPrefix("-") {
                d.report(.invalidValue, at: v.location, field: v.field, "'\(v.text)' is not a podman flag",
                         hint: "write each flag as one item, e.g. --init or --pids-limit=100")
            }
        case .containerName:
            if !shared.names.contains(v.text) {
                d.report(.unknownDependency, at: c.origin(of: "depends_on"), field: v.field,
                         "'\(v.text)' is not a container of this spec",
                         hint: closestMatch(to: v.text, in: Array(shared.names)).map { "did you mean '\($0)'?" } ?? "remove it")
            }
        }
    }

    /// An address: of its family, inside the network's subnet, not the gateway, network or
    /// broadcast address, and used by one container only.
    static func checkAddress(_ v: Value, v6: Bool, of c: ContainerDefinition, _ shared: inout SharedResources,
                             _ d: inout DiagnosticCollector) {
        guard let address = IPAddress(v.text), address.isV6 == v6 else {
            d.report(.invalidValue, at: v.location, field: v.field, "'\(v.text)' is not an IPv\(v6 ? 6 : 4) address")
            return
        }
        guard let subnet = v6 ? shared.v6 : shared.v4 else {
            d.report(.invalidValue, at: v.location, field: v.field, "the network has no IPv6 subnet for '\(v.text)'",
                     hint: "add network.subnet6, or drop ip6")
            return
        }
        if !subnet.contains(address) {
            d.report(.addressOutsideSubnet, at: v.location, field: v.field, "\(v.text) is outside the network's subnet \(subnet)",
                     hint: "pick an address inside \(subnet)")
        } else if shared.gateways.contains(address) {
            d.report(.addressIsGateway, at: v.location, field: v.field, "\(v.text) is the network's gateway",
                     hint: "pick another address; the gateway belongs to the host")
        } else if address == subnet.network || subnet.isLastAddress(address) {
            d.report(.invalidValue, at: v.location, field: v.field, "\(v.text) is the subnet's network or broadcast address")
        }
        if let other = shared.addresses[address] {
            d.report(.duplicateAddress, at: v.location, field: v.field, "\(v.text) is already used by '\(other)'",
                     hint: "give each container its own address")
        } else {
            shared.addresses[address] = c.name
        }
    }

    static func imageHasTag(_ image: String) -> Bool {
        if image.contains("@sha256:") { return true }
        let last = image.split(separator: "/").last.map(String.init) ?? image
        guard let colon = last.lastIndex(of: ":") else { return false }
        return last.index(after: colon) < last.endIndex
    }

    /// Strict RFC 1123: labels of letters, digits and inner hyphens, each 1–63, at most 253 in all.
    package static func isHostname(_ text: String, requireDot: Bool) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        if requireDot && labels.count < 2 { return false }
        return labels.allSatisfy { label in
            guard (1...63).contains(label.count), label.first != "-", label.last != "-" else { return false }
            return label.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || $0 == "-" }
        }
    }

    package static func checkHostPath(_ path: String, _ location: SourceLocation, _ field: String, _ d: inout DiagnosticCollector) {
        if !path.hasPrefix("/") {
            d.report(.invalidPath, at: location, field: field, "'\(path)' is a relative path", hint: "write an absolute host path")
        } else if path.split(separator: "/").contains("..") {
            d.report(.invalidPath, at: location, field: field, "'\(path)' contains '..'", hint: "write the path without '..'")
        }
        checkText(path, location, field, &d)
    }

    package static func checkEnvValue(_ value: String, _ location: SourceLocation, _ field: String, _ d: inout DiagnosticCollector) {
        if value.contains("\n") || value.contains("\r") || value.contains("\0") {
            d.report(.invalidEnv, at: location, field: field, "the value contains a newline or NUL",
                     hint: "env files hold one line per variable; keep the value on one line")
        }
    }

    /// Text that ends up in an argument, unit or file must stay on one line.
    static func checkText(_ value: String, _ location: SourceLocation, _ field: String, _ d: inout DiagnosticCollector) {
        if value.contains("\n") || value.contains("\r") || value.contains("\0") {
            d.report(.invalidValue, at: location, field: field, "the value contains a newline or NUL", hint: "keep it on one line")
        }
    }
}

/// A published host port, for collision checks.
package struct PortKey: Equatable {
    package var address: String?
    package var hostPort: Int
    package var proto: String

    package init?(_ text: String) {
        var body = text
        proto = "tcp"
        if let slash = text.lastIndex(of: "/") {
            proto = String(text[text.index(after: slash)...])
            body = String(text[..<slash])
            guard ["tcp", "udp", "sctp"].contains(proto) else { return nil }
        }
        var parts = body.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        // [ip:]host:container; an IPv6 address is written in brackets.
        if body.hasPrefix("["), let close = body.firstIndex(of: "]") {
            address = String(body[body.index(after: body.startIndex)..<close])
            parts = body[body.index(after: close)...].split(separator: ":", omittingEmptySubsequences: true).map(String.init)
        } else if parts.count == 3 {
            address = parts.removeFirst()
            if address?.isEmpty == true { address = nil }
            guard address == nil || IPAddress(address!) != nil else { return nil }
        }
        guard parts.count == 2, let host = Int(parts[0]), let container = Int(parts[1]),
            (1...65535).contains(host), (1...65535).contains(container)
        else { return nil }
        hostPort = host
    }

    func collides(with other: PortKey) -> Bool {
        hostPort == other.hostPort && proto == other.proto && (address == nil || other.address == nil || address == other.address)
    }
}
