import Foundation
import MailroomSupport

/// Reads `mailroom.yaml` into a `DeploymentSpec`, reporting every problem at once. The engine's
/// keys are read here; the profile reads its own sections.
package enum SpecLoader {
    static let engineKeys = ["prefix", "network", "containers", "secrets", "hosts"]

    /// Reads as much of a spec as can be read, with every problem found. The spec is `nil`
    /// only when its structure is unusable (not YAML, no network); otherwise the caller goes
    /// on checking it and reports all problems together.
    package static func read(_ text: SpecText, profile: any Profile, _ d: inout DiagnosticCollector) -> DeploymentSpec?
    {
        let file = text.file
        guard let root = SpecNode.parse(text.text, file: file, diagnostics: &d),
            let top = root.mapping(allowed: engineKeys + profile.sectionKeys, &d)
        else { return nil }
        let network = readNetwork(top.required("network", &d, hint: "the podman network: name, subnet, gateway"), &d)
        let settings = profile.read(top, file: file, &d)
        var containers: [ContainerPatch] = []
        if let node = top["containers"], !node.isNull, let entries = node.freeMapping(&d) {
            for entry in entries {
                if let patch = readContainer(entry.key, entry.keyLocation, entry.value, &d) { containers.append(patch) }
            }
        }
        var secrets = SecretsSpec(keys: [], location: root.location)
        if let node = top["secrets"], let map = node.mapping(allowed: ["keys"], &d) {
            secrets.location = node.location
            if let keys = map["keys"]?.stringList(&d) {
                for (key, keyNode) in keys where !isEnvKey(key) {
                    d.report(
                        .invalidEnv, at: keyNode.location, field: keyNode.path, "'\(key)' is not a valid variable name",
                        hint: "use letters, digits and underscores")
                }
                secrets.keys = keys.map(\.0)
            }
        }
        var prefix = ""
        if let node = top["prefix"], let value = node.string(&d) {
            if !value.isEmpty && !isName(value) {
                d.report(
                    .invalidValue, at: node.location, field: "prefix", "'\(value)' cannot start a container name",
                    hint: "letters, digits, '-', '_' and '.', starting with a letter or digit")
            }
            prefix = value
        }
        let hosts = readHosts(top["hosts"], network: network, &d)
        guard let network else { return nil }
        var spec = DeploymentSpec(
            file: file, network: network, settings: settings, containers: containers, secrets: secrets, prefix: prefix)
        spec.hosts = hosts
        return spec
    }

    static func readNetwork(_ node: SpecNode?, _ d: inout DiagnosticCollector) -> NetworkSpec? {
        guard let node, let m = node.mapping(allowed: ["name", "subnet", "gateway", "subnet6", "gateway6", "dns"], &d)
        else { return nil }
        let name = m.required("name", &d)?.string(&d) ?? "podman1"
        let subnet = m.required("subnet", &d, hint: "for example 10.90.0.0/16")
        let gateway = m.required("gateway", &d, hint: "for example 10.90.0.1")
        var network = NetworkSpec(
            name: name, subnet: subnet?.string(&d) ?? "", gateway: gateway?.string(&d) ?? "",
            subnet6: m["subnet6"]?.string(&d), gateway6: m["gateway6"]?.string(&d), dns: true, location: node.location)
        if let dns = m["dns"]?.bool(&d) { network.dns = dns }
        if !isName(name) {
            d.report(
                .invalidValue, at: m["name"]?.location ?? node.location, field: "network.name",
                "'\(name)' is not a valid network name",
                hint: "letters, digits, '-', '_' and '.', starting with a letter or digit")
        }
        if let subnet {
            if let parsed = network.ipv4Subnet, !parsed.network.isV6 {
            } else {
                d.report(
                    .invalidValue, at: subnet.location, field: "network.subnet",
                    "'\(network.subnet)' is not an IPv4 subnet",
                    hint: "write the network address and prefix, e.g. 10.90.0.0/16")
            }
        }
        if let gateway, let parsed = network.ipv4Subnet {
            if let address = IPAddress(network.gateway), parsed.contains(address) {
            } else {
                d.report(
                    .addressOutsideSubnet, at: gateway.location, field: "network.gateway",
                    "'\(network.gateway)' is not an address in \(network.subnet)",
                    hint: "usually the subnet's first address")
            }
        }
        if let text = network.subnet6 {
            if let parsed = network.ipv6Subnet, parsed.network.isV6 {
                if let g = network.gateway6 {
                    if let address = IPAddress(g), parsed.contains(address) {
                    } else {
                        d.report(
                            .addressOutsideSubnet, at: m["gateway6"]!.location, field: "network.gateway6",
                            "'\(g)' is not an address in \(text)")
                    }
                } else {
                    d.report(
                        .missingField, at: node.location, field: "network.gateway6",
                        "'gateway6' is required with 'subnet6'")
                }
            } else {
                d.report(
                    .invalidValue, at: m["subnet6"]!.location, field: "network.subnet6",
                    "'\(text)' is not an IPv6 subnet",
                    hint: "write the network address and prefix, e.g. fd00::1:8:0/112")
            }
        } else if let g = m["gateway6"] {
            d.report(.invalidValue, at: g.location, field: "network.gateway6", "'gateway6' needs 'subnet6'")
        }
        return network
    }

    static func readContainer(
        _ name: String, _ keyLocation: SourceLocation, _ node: SpecNode, _ d: inout DiagnosticCollector
    ) -> ContainerPatch? {
        var patch = ContainerPatch(name: name, location: keyLocation)
        if node.isNull { return patch }
        guard let m = node.mapping(allowed: ContainerKey.names, &d) else { return nil }
        for key in ContainerKey.all {
            guard let n = m[key.name], let value = readValue(key, n, &d) else { continue }
            patch.values[key.name] = value
        }
        return patch
    }

    /// One key's value, read as its shape in the table says.
    private static func readValue(_ key: ContainerKey, _ n: SpecNode, _ d: inout DiagnosticCollector) -> PatchValue? {
        switch key.value {
        case .text, .image:
            return n.string(&d).map { .text(Located($0, at: n.location)) }
        case .list, .rawFlags:
            if n.isNull { return .list([], at: n.location) }
            return n.stringList(&d).map { .list($0.map { Located($0.0, at: $0.1.location) }, at: n.location) }
        case .pairs:
            guard !n.isNull else { return .pairs([]) }
            return n.stringMap(&d).map { .pairs($0.map { Located(KeyValue($0.key, $0.value), at: $0.node.location) }) }
        case .integer:
            return n.int(&d).map { .integer(Located($0, at: n.location)) }
        case .command:
            if case .scalar = n.node, let text = n.string(&d) {
                let words = text.split(separator: " ").map { Located(String($0), at: n.location) }
                return .list(words, at: n.location)
            }
            return n.stringList(&d).map { .list($0.map { Located($0.0, at: $0.1.location) }, at: n.location) }
        case .healthcheck:
            guard let h = n.mapping(allowed: ["command", "interval", "timeout", "retries", "start_period"], &d),
                let command = h.required("command", &d)?.string(&d)
            else { return nil }
            let check = Healthcheck(
                command: command, interval: h["interval"]?.string(&d), timeout: h["timeout"]?.string(&d),
                retries: h["retries"]?.int(&d), startPeriod: h["start_period"]?.string(&d))
            return .healthcheck(Located(check, at: n.location))
        case .enabled:
            return n.bool(&d).map { .enabled($0) }
        }
    }

    package static func isName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first.isASCIIAlphanumeric, text.count <= 128 else { return false }
        return text.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || "-_.".unicodeScalars.contains($0) }
    }

    package static func isEnvKey(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first,
            first == "_" || (first.isASCIIAlphanumeric && !("0"..."9").contains(first))
        else {
            return false
        }
        return text.unicodeScalars.allSatisfy { $0 == "_" || $0.isASCIIAlphanumeric }
    }
}
