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
                    // Whatever the grammar, text that reaches an argument, a unit or a file has no
                    // control character; a value that has one gets that one problem.
                    let reported = d.diagnostics.count
                    if key.grammar == .environment {
                        checkEnvValue(value.text, value.location, value.field, &d)
                    } else {
                        checkText((value.name ?? "") + value.text, value.location, value.field, &d)
                    }
                    if d.diagnostics.count == reported { check(key.grammar, value, of: c, &shared, &d) }
                }
            }
            checkLimits(c, &d)
        }
        for cycle in DependencyGraph(spec.containers).cycles {
            let first = spec.containers.first { $0.name == cycle[0] }
            d.report(
                .dependencyCycle, at: first?.origin(of: "depends_on") ?? spec.network.location,
                field: "containers.\(cycle[0]).depends_on",
                "depends_on forms a cycle: \((cycle + [cycle[0]]).joined(separator: " → "))",
                hint: "remove one of these edges")
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
        let written = c.origins[key.name] != nil
        func one(_ text: String?) -> [Value] {
            text.map { [Value(text: $0, field: field, location: location, written: written)] } ?? []
        }
        func list(_ items: [String]) -> [Value] {
            items.enumerated().map { index, item in
                let origin = c.origins["\(key.name)[\(index)]"]
                return Value(text: item, field: field, location: origin ?? location, written: origin != nil)
            }
        }
        switch key.value {
        case .text(let property): return one(c[keyPath: property])
        case .image: return one(c.image)
        case .list(let property), .rawFlags(let property): return list(c[keyPath: property])
        case .command: return list(c.command)
        case .pairs(let property):
            return c[keyPath: property].map { entry in
                let origin = c.origins["\(key.name).\(entry.key)"]
                return Value(
                    text: entry.value, field: "\(field).\(entry.key)", location: origin ?? location, name: entry.key,
                    written: origin != nil)
            }
        case .integer(let property): return one(c[keyPath: property].map(String.init))
        case .healthcheck:
            guard let h = c.healthcheck else { return [] }
            let parts = [
                ("command", h.command), ("interval", h.interval), ("timeout", h.timeout),
                ("start_period", h.startPeriod), ("retries", h.retries.map(String.init)),
            ]
            return parts.compactMap { name, text in
                text.map {
                    Value(text: $0, field: "\(field).\(name)", location: location, name: name, written: written)
                }
            }
        case .enabled: return []
        }
    }

    static func checkName(_ c: ContainerDefinition, _ shared: inout SharedResources, _ d: inout DiagnosticCollector) {
        let field = "containers.\(c.name)"
        if let first = shared.seenNames[c.name] {
            d.report(
                .duplicateName, at: c.origin(of: "name"), field: field,
                "container '\(c.name)' is defined twice (first at \(first))")
        }
        shared.seenNames[c.name] = c.origin(of: "name")
        if !SpecLoader.isName(c.name) {
            d.report(
                .invalidValue, at: c.origin(of: "name"), field: field, "'\(c.name)' is not a valid container name",
                hint: "letters, digits, '-', '_' and '.', starting with a letter or digit")
        }
    }

    /// Checks one value against its key's grammar. What a value says on its own is checked where
    /// the user wrote it; what holds between containers (addresses, ports, names) for every value.
    static func check(
        _ grammar: ValueGrammar, _ v: Value, of c: ContainerDefinition, _ shared: inout SharedResources,
        _ d: inout DiagnosticCollector
    ) {
        if v.written, let problem = grammar.problem(v.text) {
            let code: SpecDiagnostic.Code =
                switch grammar {
                case .image where problem.message.hasSuffix("has no tag"): .imageWithoutTag
                case .hostname: .invalidHostname
                default: .invalidValue
                }
            d.report(code, at: v.location, field: v.field, problem.message, hint: problem.hint)
            return
        }
        switch grammar {
        case .ipv4Address, .ipv6Address:
            checkAddress(v, v6: grammar == .ipv6Address, of: c, &shared, &d)
        case .environment:
            if let name = v.name, !SpecLoader.isEnvKey(name) {
                d.report(
                    .invalidEnv, at: v.location, field: v.field, "'\(name)' is not a valid variable name",
                    hint: "use letters, digits and underscores")
            }
        case .labels:
            if let name = v.name, name.isEmpty || name.contains("=") {
                d.report(
                    .invalidValue, at: v.location, field: v.field, "'\(name)' is not a label name",
                    hint: "a name that is not empty and has no '='")
            }
        case .healthcheck where v.written:
            checkHealthcheck(v, &d)
        case .hostPath:
            // Paths the profile derived from settings were checked with those settings.
            if v.written { checkHostPath(v.text, v.location, v.field, &d) }
        case .volume:
            let parts = v.text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 || parts.count == 3, parts[1].hasPrefix("/") else {
                if v.written {
                    d.report(
                        .invalidValue, at: v.location, field: v.field, "'\(v.text)' is not a volume",
                        hint: "write /HOST/PATH:/CONTAINER/PATH[:ro], or NAME:/CONTAINER/PATH")
                }
                return
            }
            if v.written, parts[0].contains("/") || parts[0].hasPrefix(".") {
                checkHostPath(parts[0], v.location, v.field, &d)
            }
        case .portMapping:
            guard let key = PortKey(v.text) else {
                // A mapping the profile derived from a setting that is wrong was reported with that setting.
                if v.written {
                    d.report(
                        .invalidValue, at: v.location, field: v.field, "'\(v.text)' is not a port mapping",
                        hint: "write [IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]")
                }
                return
            }
            if let clash = shared.ports.first(where: { $0.key.collides(with: key) }) {
                d.report(
                    .portCollision, at: v.location, field: v.field,
                    "host port \(key.hostPort)/\(key.proto) is already published by '\(clash.container)'",
                    hint: "publish on another port or address")
            }
            shared.ports.append((key, c.name))
        case .containerName:
            if !shared.names.contains(v.text) {
                d.report(
                    .unknownDependency, at: c.origin(of: "depends_on"), field: v.field,
                    "'\(v.text)' is not a container of this spec",
                    hint: closestMatch(to: v.text, in: Array(shared.names)).map { "did you mean '\($0)'?" }
                        ?? "remove it")
            }
        default:
            break
        }
    }

    /// A health check's durations and retries, as podman reads them.
    static func checkHealthcheck(_ v: Value, _ d: inout DiagnosticCollector) {
        switch v.name {
        case "interval" where v.text != "disable", "timeout", "start_period":
            if !Grammar.isDuration(v.text) {
                d.report(
                    .invalidValue, at: v.location, field: v.field, "'\(v.text)' is not a duration",
                    hint: v.name == "interval" ? "e.g. 30s or 1m30s, or disable" : "e.g. 30s or 1m30s")
            }
        case "retries":
            if (Int(v.text) ?? -1) < 0 {
                d.report(
                    .invalidValue, at: v.location, field: v.field, "'\(v.text)' is negative",
                    hint: "a whole number of at least 0")
            }
        default:
            break
        }
    }

    /// What holds between a container's own keys: a memory reservation within the limit.
    static func checkLimits(_ c: ContainerDefinition, _ d: inout DiagnosticCollector) {
        guard let limit = c.memory.flatMap(Grammar.bytes), let reservation = c.memoryReservation.flatMap(Grammar.bytes),
            reservation > limit
        else { return }
        d.report(
            .invalidValue, at: c.origin(of: "memory_reservation"), field: "containers.\(c.name).memory_reservation",
            "the reservation \(c.memoryReservation!) is above the memory limit \(c.memory!)",
            hint: "reserve at most the limit")
    }

    /// An address: of its family, inside the network's subnet, not the gateway, network or
    /// broadcast address, and used by one container only.
    static func checkAddress(
        _ v: Value, v6: Bool, of c: ContainerDefinition, _ shared: inout SharedResources,
        _ d: inout DiagnosticCollector
    ) {
        guard let address = IPAddress(v.text), address.isV6 == v6 else {
            d.report(.invalidValue, at: v.location, field: v.field, "'\(v.text)' is not an IPv\(v6 ? 6 : 4) address")
            return
        }
        guard let subnet = v6 ? shared.v6 : shared.v4 else {
            d.report(
                .invalidValue, at: v.location, field: v.field, "the network has no IPv6 subnet for '\(v.text)'",
                hint: "add network.subnet6, or drop ip6")
            return
        }
        if !subnet.contains(address) {
            d.report(
                .addressOutsideSubnet, at: v.location, field: v.field,
                "\(v.text) is outside the network's subnet \(subnet)",
                hint: "pick an address inside \(subnet)")
        } else if shared.gateways.contains(address) {
            d.report(
                .addressIsGateway, at: v.location, field: v.field, "\(v.text) is the network's gateway",
                hint: "pick another address; the gateway belongs to the host")
        } else if address == subnet.network || subnet.isLastAddress(address) {
            d.report(
                .invalidValue, at: v.location, field: v.field, "\(v.text) is the subnet's network or broadcast address")
        }
        if let other = shared.addresses[address] {
            d.report(
                .duplicateAddress, at: v.location, field: v.field, "\(v.text) is already used by '\(other)'",
                hint: "give each container its own address")
        } else {
            shared.addresses[address] = c.name
        }
    }

    package static func checkHostPath(
        _ path: String, _ location: SourceLocation, _ field: String, _ d: inout DiagnosticCollector
    ) {
        if !path.hasPrefix("/") {
            d.report(
                .invalidPath, at: location, field: field, "'\(path)' is a relative path",
                hint: "write an absolute host path")
        } else if path.split(separator: "/").contains("..") {
            d.report(
                .invalidPath, at: location, field: field, "'\(path)' contains '..'", hint: "write the path without '..'"
            )
        }
        checkText(path, location, field, &d)
    }

    package static func checkEnvValue(
        _ value: String, _ location: SourceLocation, _ field: String, _ d: inout DiagnosticCollector
    ) {
        if let scalar = Grammar.controlCharacter(in: value) {
            d.report(
                .invalidEnv, at: location, field: field, "the value contains \(describe(scalar))",
                hint: "env files hold one line per variable; keep the value on one line, without control characters")
        }
    }

    /// Text that ends up in an argument, unit or file must stay on one line.
    package static func checkText(
        _ value: String, _ location: SourceLocation, _ field: String, _ d: inout DiagnosticCollector
    ) {
        if let scalar = Grammar.controlCharacter(in: value) {
            d.report(
                .invalidValue, at: location, field: field, "the value contains \(describe(scalar))",
                hint: "keep it on one line, without control characters")
        }
    }

    /// "a newline", "NUL", "a control character (U+001B)".
    static func describe(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n", "\r": return "a newline"
        case "\0": return "NUL"
        case "\t": return "a tab"
        default:
            let hex = String(scalar.value, radix: 16, uppercase: true)
            return "a control character (U+\(String(repeating: "0", count: max(0, 4 - hex.count)) + hex))"
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
            parts = body[body.index(after: close)...].split(separator: ":", omittingEmptySubsequences: true).map(
                String.init)
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
        hostPort == other.hostPort && proto == other.proto
            && (address == nil || other.address == nil || address == other.address)
    }
}
