import Foundation
import MailroomSupport

/// The container engine, as Mailroom needs it. Podman's CLI is the implementation; the
/// protocol marks the boundary (a REST-socket driver could stand beside it).
public protocol ContainerEngine: Sendable {
    /// `podman ps -a --format json`: every container, one call.
    func listContainers() async throws -> [ContainerSummary]
    /// `podman network ls --format json`: every network with its subnets, one call.
    func listNetworks() async throws -> [NetworkSummary]
    /// One batched `podman container inspect`; names that do not exist are left out.
    func inspectContainers(_ names: [String]) async throws -> [ContainerInspection]
    /// `podman image exists`: whether the image is in local storage (a pull would not be needed).
    func imageExists(_ reference: String) async throws -> Bool
    /// `podman pull --quiet`; throws `CommandError` with podman's reason when it fails.
    func pullImage(_ reference: String) async throws
    /// Runs `podman <arguments>` with `input` on its stdin (`nil`: /dev/null); throws
    /// `CommandError` when it fails.
    @discardableResult
    func execute(_ arguments: [String], input: Data?) async throws -> ProcessResult
}

extension ContainerEngine {
    /// Runs `podman <arguments>` with nothing on stdin.
    @discardableResult
    public func execute(_ arguments: [String]) async throws -> ProcessResult {
        try await execute(arguments, input: nil)
    }
}

/// A row of `podman ps -a --format json`.
public struct ContainerSummary: Sendable, Equatable, Codable {
    public var id: String
    public var names: [String]
    public var image: String
    public var state: String
    public var labels: [String: String]
    public var networks: [String]
    /// Podman's words, e.g. `Up 5 minutes (healthy)`: the only place `ps` shows health.
    public var status: String

    enum CodingKeys: String, CodingKey {
        case id = "Id", names = "Names", image = "Image", state = "State", labels = "Labels", networks = "Networks",
            status = "Status"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        names = try c.decodeIfPresent([String].self, forKey: .names) ?? []
        image = try c.decodeIfPresent(String.self, forKey: .image) ?? ""
        state = try c.decodeIfPresent(String.self, forKey: .state) ?? "unknown"
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        networks = try c.decodeIfPresent([String].self, forKey: .networks) ?? []
        status = try c.decodeIfPresent(String.self, forKey: .status) ?? ""
    }

    public var name: String { names.first ?? id }

    /// `healthy`, `unhealthy` or `starting` when the container has a health check, from `status`.
    public var health: String? {
        for word in ["unhealthy", "healthy", "starting"] where status.hasSuffix("(\(word))") { return word }
        return nil
    }
}

/// A row of `podman network ls --format json`.
public struct NetworkSummary: Sendable, Equatable, Codable {
    public var name: String
    public var subnets: [NetworkSubnet]
    public var dnsEnabled: Bool

    public struct NetworkSubnet: Sendable, Equatable, Codable {
        public var subnet: String
        public var gateway: String?
    }

    enum CodingKeys: String, CodingKey {
        case name, subnets, dnsEnabled = "dns_enabled"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        subnets = try c.decodeIfPresent([NetworkSubnet].self, forKey: .subnets) ?? []
        dnsEnabled = try c.decodeIfPresent(Bool.self, forKey: .dnsEnabled) ?? false
    }
}

/// The parts of `podman container inspect` Mailroom compares with a desired container.
public struct ContainerInspection: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var imageName: String
    public var state: State
    public var config: Config
    public var hostConfig: HostConfig
    public var networks: [String: Endpoint]
    /// How often podman restarted it under its restart policy (a crash loop shows here).
    public var restartCount: Int = 0

    public struct State: Sendable, Equatable, Codable {
        public var status: String
        public var running: Bool
        public var exitCode: Int
        public var health: String?
    }

    public struct Config: Sendable, Equatable, Codable {
        public var hostname: String
        public var env: [String]
        public var labels: [String: String]
        public var cmd: [String]
        public var healthcheck: [String]
    }

    public struct HostConfig: Sendable, Equatable, Codable {
        public var binds: [String]
        public var dns: [String]
        public var portBindings: [String: [PortBinding]]
        public var restartPolicy: String
        public var memory: Int64
        public var memoryReservation: Int64
        public var cpuShares: Int64
        public var logType: String
        public var logTag: String?
    }

    public struct PortBinding: Sendable, Equatable, Codable {
        public var hostIP: String
        public var hostPort: String
    }

    public struct Endpoint: Sendable, Equatable, Codable {
        public var ipAddress: String
        public var globalIPv6Address: String
    }
}

extension ContainerInspection {
    /// Reads one element of `podman container inspect` output.
    init(json object: [String: Any]) {
        func dict(_ value: Any?) -> [String: Any] { value as? [String: Any] ?? [:] }
        func strings(_ value: Any?) -> [String] { value as? [String] ?? [] }
        func int(_ value: Any?) -> Int64 { (value as? NSNumber)?.int64Value ?? 0 }
        let state = dict(object["State"])
        let config = dict(object["Config"])
        let host = dict(object["HostConfig"])
        let settings = dict(object["NetworkSettings"])
        let log = dict(host["LogConfig"])
        id = object["Id"] as? String ?? ""
        name = object["Name"] as? String ?? ""
        imageName = object["ImageName"] as? String ?? config["Image"] as? String ?? ""
        let health = dict(state["Health"])["Status"] as? String ?? dict(state["Healthcheck"])["Status"] as? String
        self.state = State(
            status: state["Status"] as? String ?? "unknown", running: state["Running"] as? Bool ?? false,
            exitCode: Int(int(state["ExitCode"])), health: (health?.isEmpty ?? true) ? nil : health)
        self.config = Config(
            hostname: config["Hostname"] as? String ?? "", env: strings(config["Env"]),
            labels: config["Labels"] as? [String: String] ?? [:], cmd: strings(config["Cmd"]),
            healthcheck: strings(dict(config["Healthcheck"])["Test"]))
        var ports: [String: [PortBinding]] = [:]
        for (key, value) in dict(host["PortBindings"]) {
            ports[key] = (value as? [[String: Any]] ?? []).map {
                PortBinding(hostIP: $0["HostIp"] as? String ?? "", hostPort: $0["HostPort"] as? String ?? "")
            }
        }
        hostConfig = HostConfig(
            binds: strings(host["Binds"]), dns: strings(host["Dns"]), portBindings: ports,
            restartPolicy: dict(host["RestartPolicy"])["Name"] as? String ?? "",
            memory: int(host["Memory"]), memoryReservation: int(host["MemoryReservation"]),
            cpuShares: int(host["CpuShares"]),
            logType: log["Type"] as? String ?? "", logTag: log["Tag"] as? String)
        var endpoints: [String: Endpoint] = [:]
        for (key, value) in dict(settings["Networks"]) {
            let endpoint = dict(value)
            endpoints[key] = Endpoint(
                ipAddress: endpoint["IPAddress"] as? String ?? "",
                globalIPv6Address: endpoint["GlobalIPv6Address"] as? String ?? "")
        }
        networks = endpoints
        restartCount = Int(int(object["RestartCount"]))
    }
}

/// Podman through its command line.
public struct PodmanCLI: ContainerEngine {
    public var executable: String
    public var runner: ProcessRunner

    public init(executable: String, runner: ProcessRunner = ProcessRunner()) {
        self.executable = executable
        self.runner = runner
    }

    /// Podman on `PATH`, or `nil` when it is not installed.
    public static func locate(runner: ProcessRunner = ProcessRunner()) -> PodmanCLI? {
        ProcessRunner.which("podman").map { PodmanCLI(executable: $0, runner: runner) }
    }

    @discardableResult
    public func execute(_ arguments: [String], input: Data?) async throws -> ProcessResult {
        let result = try await runner.run([executable] + arguments, input: input)
        guard result.succeeded else {
            throw CommandError(arguments: ["podman"] + arguments, status: result.status, stderr: result.stderrText)
        }
        return result
    }

    public func listContainers() async throws -> [ContainerSummary] {
        let result = try await execute(["ps", "-a", "--format", "json"])
        return try decodeList(result.stdout)
    }

    public func listNetworks() async throws -> [NetworkSummary] {
        let result = try await execute(["network", "ls", "--format", "json"])
        return try decodeList(result.stdout)
    }

    public func inspectContainers(_ names: [String]) async throws -> [ContainerInspection] {
        guard !names.isEmpty else { return [] }
        // A missing name makes podman exit 125 but still print the others.
        let result = try await runner.run([executable, "container", "inspect"] + names)
        let objects = (try? JSONSerialization.jsonObject(with: result.stdout)) as? [[String: Any]] ?? []
        if objects.isEmpty, !result.succeeded, !result.stderrText.contains("no such") {
            throw CommandError(
                arguments: ["podman", "container", "inspect"] + names, status: result.status, stderr: result.stderrText)
        }
        return objects.map(ContainerInspection.init(json:))
    }

    public func imageExists(_ reference: String) async throws -> Bool {
        // Exit 1 means "not here"; anything else is podman failing.
        let result = try await runner.run([executable, "image", "exists", reference])
        if result.status == 0 || result.status == 1 { return result.succeeded }
        throw CommandError(
            arguments: ["podman", "image", "exists", reference], status: result.status, stderr: result.stderrText)
    }

    public func pullImage(_ reference: String) async throws {
        do {
            try await execute(["pull", "--quiet", reference])
        } catch var error as CommandError {
            // Podman logs each retry before its final `Error: …` line; the last line is the reason.
            let lines = error.stderr.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            if let last = lines.last(where: { $0.hasPrefix("Error: ") }) { error.stderr = String(last.dropFirst(7)) }
            throw error
        }
    }

    private func decodeList<T: Decodable>(_ data: Data) throws -> [T] {
        let trimmed = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty || trimmed == "null" { return [] }
        return try JSONDecoder().decode([T].self, from: Data(trimmed.utf8))
    }
}
