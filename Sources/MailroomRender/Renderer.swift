import Crypto
import MailroomSpec
import MailroomSupport

/// A spec taken through expansion, validation and rendering.
public struct CompiledSpec: Sendable {
    public var spec: DeploymentSpec
    public var explicit: ExplicitSpec
    public var desired: DesiredState
    public var secrets: SecretValues
}

/// The one compile path, used by every command, the agent and the tests: spec text → engine
/// keys and profile sections → expansion → validation → desired state. Problems of every
/// stage are reported together, so `validate`, `plan` and `apply` refuse a spec alike.
public struct SpecCompiler: Sendable {
    public var profile: any Profile
    public var unitsDirectory: String
    /// Which of the spec's `hosts:` to render; `nil` is this machine's hostname. Ignored for one host.
    public var hostName: String?
    /// Whether to render one host's share of a `hosts:` spec (commands that change a host) or
    /// the whole deployment, every host checked (`mailroom dns`: the records are the deployment's).
    public var selectsHost = true

    public init(profile: any Profile, unitsDirectory: String) {
        self.profile = profile
        self.unitsDirectory = unitsDirectory
    }

    /// Where the secrets come from.
    public enum Secrets: Sendable {
        /// The host's secrets file (its problems become a warning in the plan and a refusal in apply).
        case file(String)
        /// Stand-ins for every key, to compare commits without a host (`mailroom diff`).
        case placeholders
        /// Values given directly (tests, benchmarks).
        case values(SecretValues)
    }

    /// Only the first step: reads the engine's keys and the profile's sections, without
    /// expanding (the source benchmark times "push → spec read" with it).
    public func read(_ text: SpecText) throws -> DeploymentSpec {
        var d = DiagnosticCollector()
        let spec = SpecLoader.read(text, profile: profile, &d)
        guard let spec, d.isEmpty else { throw SpecError(d.diagnostics) }
        return spec
    }

    /// Compiles a spec's text; throws `SpecError` with every problem found.
    public func compile(_ text: SpecText, secrets source: Secrets) throws -> CompiledSpec {
        var d = DiagnosticCollector()
        guard let spec = SpecLoader.read(text, profile: profile, &d) else { throw SpecError(d.diagnostics) }
        let keys = spec.settings.requiredSecrets
        let secrets: SecretValues
        switch source {
        case .file(let path): secrets = SecretValues.load(path: path, required: keys, extraKeys: spec.secrets.keys)
        case .placeholders: secrets = .placeholder(keys: keys + spec.secrets.keys)
        case .values(let values): secrets = values
        }
        var explicit = spec.settings.expand(spec, secrets: secrets, &d)
        if spec.hosts.isEmpty {
            Validator.validate(explicit, &d)
        } else {
            // Every host's deployment is checked, whichever this is: a spec is valid for all or none.
            var deployments: [String: ExplicitSpec] = [:]
            for host in spec.hosts {
                guard let deployment = explicit.deployment(for: host, of: spec.hosts, prefix: spec.prefix) else {
                    d.report(
                        .invalidValue, at: host.location, field: "hosts.\(host.name).role",
                        "this profile does not run a \(host.role.rawValue) host", hint: "remove the role")
                    continue
                }
                Validator.validate(deployment, &d)
                deployments[host.name] = deployment
            }
            // Without host selection, the whole deployment as the profile expanded it.
            if selectsHost { explicit = selectDeployment(deployments, of: spec, or: explicit, &d) }
        }
        try d.throwIfAny()
        return CompiledSpec(
            spec: spec, explicit: explicit, desired: Renderer.render(explicit, unitsDirectory: unitsDirectory),
            secrets: secrets)
    }
}

extension SpecCompiler {
    /// This host's deployment (`--host`, else the machine's hostname); a name that is none of
    /// the spec's hosts is reported, unless another problem already was.
    private func selectDeployment(
        _ deployments: [String: ExplicitSpec], of spec: DeploymentSpec, or whole: ExplicitSpec,
        _ d: inout DiagnosticCollector
    ) -> ExplicitSpec {
        let name = hostName ?? HostSelection.machineHostname()
        if let deployment = deployments[name] { return deployment }
        if d.isEmpty {
            let names = spec.hosts.map { "'\($0.name)'" }.joined(separator: ", ")
            d.report(
                .invalidValue, at: spec.hosts[0].location, field: "hosts",
                hostName == nil
                    ? "this machine's hostname '\(name)' is none of the spec's hosts (\(names))"
                    : "--host \(name) is none of the spec's hosts (\(names))",
                hint: "pass --host NAME with one of \(names)")
        }
        return whole
    }
}

/// Explicit spec → desired state: podman arguments, config hashes, units. Pure.
public enum Renderer {
    public static func render(_ explicit: ExplicitSpec, unitsDirectory: String) -> DesiredState {
        let levels = DependencyGraph(explicit.containers).levels
        let filesByPath = Dictionary(explicit.files.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let managed = [KeyValue(PodmanArguments.managedLabel, "true")]

        let containers = explicit.containers.map { c -> DesiredContainer in
            let arguments = PodmanArguments.run(c, extraLabels: managed)
            // A container reads its env files and single-file mounts at start: their content is its config.
            let singleFiles = c.mountSources.filter { !$0.hasSuffix("/") && filesByPath[$0] != nil }
            let consumed = (c.envFiles + singleFiles).filter { filesByPath[$0] != nil }
            let external = c.envFiles.filter { filesByPath[$0] == nil } + c.readOnlyMountSources
            var hasher = SHA256()
            for argument in PodmanArguments.run(c) { hasher.update(data: Array(argument.utf8) + [0]) }
            for path in consumed {
                hasher.update(data: Array(path.utf8) + [0])
                hasher.update(data: Array(filesByPath[path]!.content.utf8) + [0])
            }
            return DesiredContainer(
                name: c.name, image: c.image, arguments: arguments, dependsOn: c.dependsOn, level: levels[c.name] ?? 0,
                hasHealthcheck: c.healthcheck != nil, renderDigest: hex(hasher.finalize()), consumedFiles: consumed,
                contentInputs: external, definition: c)
        }

        let units = explicit.containers.map { c in
            FileDefinition(
                path: "\(unitsDirectory.trimmingTrailingSlash)/\(SystemdUnit.fileName(for: c.name))",
                content: SystemdUnit.render(c, arguments: PodmanArguments.run(c, extraLabels: managed)))
        }
        let hostUnits = explicit.layout.flatMap {
            HostRoutes.unit($0, network: explicit.network, unitsDirectory: unitsDirectory)
        }
        return DesiredState(
            network: network(explicit.network), containers: containers, files: explicit.files,
            units: units + (hostUnits.map { [$0] } ?? []),
            directories: explicit.directories, application: explicit.application, objects: explicit.objects,
            keys: explicit.keys)
    }

    /// `podman network create` as the guide writes it: IPv6 first, then IPv4.
    static func network(_ n: NetworkSpec) -> DesiredNetwork {
        var arguments = ["network", "create"]
        if let subnet6 = n.subnet6, let gateway6 = n.gateway6 {
            arguments += ["--ipv6", "--gateway", gateway6, "--subnet", subnet6]
        }
        arguments += ["--gateway", n.gateway, "--subnet", n.subnet]
        if !n.dns { arguments.append("--disable-dns") }
        arguments.append(n.name)
        return DesiredNetwork(
            name: n.name, arguments: arguments, subnets: [n.subnet] + [n.subnet6].compactMap { $0 }, dns: n.dns)
    }
}
