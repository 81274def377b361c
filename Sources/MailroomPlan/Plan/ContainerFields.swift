import MailroomHost
import MailroomSpec
import MailroomSupport

/// A container's settings as comparable fields (`ip`, `volume`, `env`, …), each a sorted list,
/// built from `podman container run` arguments or from `podman container inspect`, so a
/// container made by hand can be compared with the spec flag by flag.
public struct ContainerFields: Sendable, Equatable {
    public var values: [String: [String]]

    /// Fields from run arguments (after `podman`). Mailroom's own labels are left out.
    public init(arguments: [String]) {
        var values: [String: [String]] = [:]
        var rest = arguments.dropFirst(2)[...]
        while let argument = rest.first, argument.hasPrefix("-") {
            rest = rest.dropFirst()
            let body = argument.drop { $0 == "-" }
            let parts = body.split(separator: "=", maxSplits: 1).map(String.init)
            let name = parts[0]
            if name == "label", parts.count == 2, parts[1].hasPrefix("mailroom.") { continue }
            values[name, default: []].append(parts.count == 2 ? parts[1] : "true")
        }
        if let image = rest.first { values["image"] = [image] }
        let command = Array(rest.dropFirst())
        if !command.isEmpty { values["command"] = [command.joined(separator: " ")] }
        self.values = values.mapValues { $0.sorted() }
    }

    init(values: [String: [String]]) {
        self.values = values.mapValues { $0.sorted() }
    }

    /// Fields of a running container, for the keys the desired fields set. `envFiles` holds
    /// the desired content of env files, since podman only shows the resulting variables.
    static func comparable(desired: ContainerFields, envFiles: [String: String], inspection i: ContainerInspection) -> (
        desired: ContainerFields, actual: ContainerFields
    ) {
        var want = desired.values
        // Env files expand into variables; --env wins over the file, as in podman.
        var env: [(String, String)] = []
        for path in want["env-file"] ?? [] {
            for line in (envFiles[path] ?? "").split(separator: "\n") where !line.hasPrefix("#") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                env.append((String(line[..<equals]), String(line[line.index(after: equals)...])))
            }
        }
        for entry in want["env"] ?? [] {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            env.append((parts[0], parts.count > 1 ? parts[1] : ""))
        }
        want["env-file"] = nil
        if !env.isEmpty {
            var merged: [String: String] = [:]
            for (key, value) in env { merged[key] = value }
            want["env"] = merged.map { "\($0.key)=\($0.value)" }
        }
        want["volume"] = want["volume"]?.map(normalizeVolume)
        want["publish"] = want["publish"]?.map(normalizePort)
        want["memory"] = want["memory"]?.map(normalizeBytes)
        want["memory-reservation"] = want["memory-reservation"]?.map(normalizeBytes)
        want["ip6"] = want["ip6"]?.map { IPAddress($0)?.description ?? $0 }

        var have: [String: [String]] = [:]
        let network = want["network"]?.first ?? i.networks.keys.sorted().first ?? ""
        let endpoint = i.networks[network]
        let envKeys = Set((want["env"] ?? []).map { String($0.split(separator: "=", maxSplits: 1)[0]) })
        let labelKeys = Set((want["label"] ?? []).map { String($0.split(separator: "=", maxSplits: 1)[0]) })
        for key in want.keys {
            // What podman reports for each flag comes from the container-key table.
            switch ContainerKey.observed(flag: key) {
            case .image?: have[key] = [i.imageName]
            case .hostname?: have[key] = [i.config.hostname]
            case .ipv4?: have[key] = endpoint.map { [$0.ipAddress] } ?? []
            case .ipv6?:
                have[key] =
                    endpoint.map { [IPAddress($0.globalIPv6Address)?.description ?? $0.globalIPv6Address] } ?? []
            case .network?: have[key] = i.networks.keys.sorted()
            case .dns?: have[key] = i.hostConfig.dns
            case .env?:
                have[key] = i.config.env.filter { envKeys.contains(String($0.split(separator: "=", maxSplits: 1)[0])) }
            case .labels?:
                have[key] = i.config.labels.filter { labelKeys.contains($0.key) }.map { "\($0.key)=\($0.value)" }
            case .volumes?: have[key] = i.hostConfig.binds.map(normalizeVolume)
            case .ports?:
                have[key] = i.hostConfig.portBindings.flatMap { containerPort, bindings in
                    bindings.map { normalizePort("\($0.hostIP):\($0.hostPort):\(containerPort)") }
                }
            case .restartPolicy?: have[key] = i.hostConfig.restartPolicy.isEmpty ? [] : [i.hostConfig.restartPolicy]
            case .memoryBytes?: have[key] = i.hostConfig.memory > 0 ? [String(i.hostConfig.memory)] : []
            case .memoryReservationBytes?:
                have[key] = i.hostConfig.memoryReservation > 0 ? [String(i.hostConfig.memoryReservation)] : []
            case .cpuShares?: have[key] = i.hostConfig.cpuShares > 0 ? [String(i.hostConfig.cpuShares)] : []
            case .logDriver?: have[key] = [i.hostConfig.logType]
            case .logOptions?: have[key] = i.hostConfig.logTag.flatMap { $0.isEmpty ? nil : ["tag=\($0)"] } ?? []
            case .command?: have[key] = [i.config.cmd.joined(separator: " ")]
            case .healthCommand?:
                have[key] =
                    i.config.healthcheck.count > 1 ? [i.config.healthcheck.dropFirst().joined(separator: " ")] : []
            case .notReported?, nil:
                // Flags that say how to run (--detach, --replace) or that podman does not
                // report back (--init, health intervals) cannot be compared.
                want[key] = nil
            }
        }
        return (ContainerFields(values: want), ContainerFields(values: have))
    }

    static func normalizeVolume(_ volume: String) -> String {
        let parts = volume.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2 else { return volume }
        let readOnly = parts.count > 2 && parts[2].split(separator: ",").contains("ro")
        return "\(parts[0].trimmingTrailingSlash):\(parts[1].trimmingTrailingSlash)\(readOnly ? ":ro" : "")"
    }

    static func normalizePort(_ port: String) -> String {
        guard let key = PortKey(port) else { return port }
        var text = port
        if let slash = text.lastIndex(of: "/") { text = String(text[..<slash]) }
        let container = text.split(separator: ":").last.map(String.init) ?? ""
        let address = key.address.flatMap { $0 == "0.0.0.0" || $0.isEmpty ? nil : $0 }
        return "\(address.map { "\($0):" } ?? "")\(key.hostPort):\(container)/\(key.proto)"
    }

    static func normalizeBytes(_ text: String) -> String {
        let units: [Character: Int64] = ["b": 1, "k": 1024, "m": 1 << 20, "g": 1 << 30]
        guard let last = text.lowercased().last else { return text }
        if let multiplier = units[last], let number = Int64(text.dropLast()) { return String(number * multiplier) }
        return Int64(text).map(String.init) ?? text
    }

    /// Fields that differ, by name.
    public func differences(from old: ContainerFields) -> [FieldChange] {
        Set(values.keys).union(old.values.keys).sorted().compactMap { key in
            let before = old.values[key] ?? []
            let after = values[key] ?? []
            guard before != after else { return nil }
            return FieldChange(
                field: key, removed: before.filter { !after.contains($0) }, added: after.filter { !before.contains($0) }
            )
        }
    }
}

/// One field that differs: values that go and values that come.
public struct FieldChange: Sendable, Equatable, Codable {
    public var field: String
    public var removed: [String]
    public var added: [String]
}
