import MailroomSupport


/// Checks an expanded spec: names, addresses, ports, dependencies, paths, env and images.
/// Every problem is collected; an invalid spec renders nothing.
package enum Validator {
    package static func validate(_ spec: ExplicitSpec, _ d: inout DiagnosticCollector) {
        let names = Set(spec.containers.map(\.name))
        var seenNames: [String: SourceLocation] = [:]
        var addresses: [IPAddress: String] = [:]
        var ports: [(key: PortKey, container: String)] = []
        let v4 = spec.network.ipv4Subnet, v6 = spec.network.ipv6Subnet
        let gateways = [spec.network.gateway, spec.network.gateway6].compactMap { $0 }.compactMap(IPAddress.init)

        for c in spec.containers {
            let field = "containers.\(c.name)"
            if let first = seenNames[c.name] {
                d.report(.duplicateName, at: c.origin(of: "name"), field: field, "container '\(c.name)' is defined twice (first at \(first))")
            }
            seenNames[c.name] = c.origin(of: "name")
            if !SpecLoader.isName(c.name) {
                d.report(.invalidValue, at: c.origin(of: "name"), field: field, "'\(c.name)' is not a valid container name",
                         hint: "letters, digits, '-', '_' and '.', starting with a letter or digit")
            }
            if !imageHasTag(c.image) {
                d.report(.imageWithoutTag, at: c.origin(of: "image"), field: "\(field).image", "image '\(c.image)' has no tag",
                         hint: "pin a tag or digest, e.g. \(c.image):2.0, so a deploy is repeatable")
            }
            if let hostname = c.hostname, !isHostname(hostname, requireDot: false) {
                d.report(.invalidHostname, at: c.origin(of: "hostname"), field: "\(field).hostname",
                         "'\(hostname)' is not an RFC 1123 hostname", hint: "letters, digits and '-', labels of at most 63")
            }
            for (text, subnet, key) in [(c.ip, v4, "ip"), (c.ip6, v6, "ip6")] {
                guard let text else { continue }
                let location = c.origin(of: key)
                guard let address = IPAddress(text), address.isV6 == (key == "ip6") else {
                    d.report(.invalidValue, at: location, field: "\(field).\(key)", "'\(text)' is not an IPv\(key == "ip" ? 4 : 6) address")
                    continue
                }
                guard let subnet else {
                    d.report(.invalidValue, at: location, field: "\(field).\(key)", "the network has no IPv6 subnet for '\(text)'",
                             hint: "add network.subnet6, or drop ip6")
                    continue
                }
                if !subnet.contains(address) {
                    d.report(.addressOutsideSubnet, at: location, field: "\(field).\(key)", "\(text) is outside the network's subnet \(subnet)",
                             hint: "pick an address inside \(subnet)")
                } else if gateways.contains(address) {
                    d.report(.addressIsGateway, at: location, field: "\(field).\(key)", "\(text) is the network's gateway",
                             hint: "pick another address; the gateway belongs to the host")
                } else if address == subnet.network || subnet.isLastAddress(address) {
                    d.report(.invalidValue, at: location, field: "\(field).\(key)", "\(text) is the subnet's network or broadcast address")
                }
                if let other = addresses[address] {
                    d.report(.duplicateAddress, at: location, field: "\(field).\(key)", "\(text) is already used by '\(other)'",
                             hint: "give each container its own address")
                } else {
                    addresses[address] = c.name
                }
            }
            for (index, port) in c.ports.enumerated() {
                let location = c.origins["ports[\(index)]"] ?? c.origin(of: "ports")
                guard let key = PortKey(port) else {
                    d.report(.invalidValue, at: location, field: "\(field).ports", "'\(port)' is not a port mapping",
                             hint: "write [IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]")
                    continue
                }
                if let clash = ports.first(where: { $0.key.collides(with: key) }) {
                    d.report(.portCollision, at: location, field: "\(field).ports",
                             "host port \(key.hostPort)/\(key.proto) is already published by '\(clash.container)'",
                             hint: "publish on another port or address")
                }
                ports.append((key, c.name))
            }
            for dependency in c.dependsOn where !names.contains(dependency) {
                d.report(.unknownDependency, at: c.origin(of: "depends_on"), field: "\(field).depends_on",
                         "'\(dependency)' is not a container of this spec",
                         hint: closestMatch(to: dependency, in: Array(names)).map { "did you mean '\($0)'?" } ?? "remove it")
            }
            for (index, volume) in c.volumes.enumerated() {
                let location = c.origins["volumes[\(index)]"] ?? c.origin(of: "volumes")
                let parts = volume.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 2 || parts.count == 3, parts[1].hasPrefix("/") else {
                    d.report(.invalidValue, at: location, field: "\(field).volumes", "'\(volume)' is not a volume",
                             hint: "write /HOST/PATH:/CONTAINER/PATH[:ro], or NAME:/CONTAINER/PATH")
                    continue
                }
                // Paths the profile derived from settings were checked with those settings.
                if c.origins["volumes[\(index)]"] != nil, parts[0].contains("/") || parts[0].hasPrefix(".") {
                    checkHostPath(parts[0], location, "\(field).volumes", &d)
                }
                checkText(volume, location, "\(field).volumes", &d)
            }
            for (index, file) in c.envFiles.enumerated() where c.origins["env_files[\(index)]"] != nil {
                checkHostPath(file, c.origins["env_files[\(index)]"] ?? c.origin(of: "env_files"), "\(field).env_files", &d)
            }
            for entry in c.env {
                let location = c.origins["env.\(entry.key)"] ?? c.origin(of: "env")
                if !SpecLoader.isEnvKey(entry.key) {
                    d.report(.invalidEnv, at: location, field: "\(field).env.\(entry.key)", "'\(entry.key)' is not a valid variable name",
                             hint: "use letters, digits and underscores")
                }
                checkEnvValue(entry.value, location, "\(field).env.\(entry.key)", &d)
            }
            for entry in c.labels { checkText(entry.key + entry.value, c.origins["labels.\(entry.key)"] ?? c.origin(of: "labels"), "\(field).labels.\(entry.key)", &d) }
            for (index, arg) in c.extraArgs.enumerated() {
                let location = c.origins["extra_args[\(index)]"] ?? c.origin(of: "extra_args")
                if !arg.hasPrefix("-") {
                    d.report(.invalidValue, at: location, field: "\(field).extra_args", "'\(arg)' is not a podman flag",
                             hint: "write each flag as one item, e.g. --init or --pids-limit=100")
                }
                checkText(arg, location, "\(field).extra_args", &d)
            }
            for part in c.command + c.dns + c.logOptions + [c.memory, c.memoryReservation, c.restart, c.logDriver].compactMap({ $0 }) {
                checkText(part, c.origin(of: "name"), field, &d)
            }
        }
        for cycle in DependencyGraph(spec.containers).cycles {
            let first = spec.containers.first { $0.name == cycle[0] }
            d.report(.dependencyCycle, at: first?.origin(of: "depends_on") ?? spec.network.location, field: "containers.\(cycle[0]).depends_on",
                     "depends_on forms a cycle: \((cycle + [cycle[0]]).joined(separator: " → "))", hint: "remove one of these edges")
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
