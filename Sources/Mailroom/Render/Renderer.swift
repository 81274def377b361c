import Crypto

/// Host locations Mailroom reads and writes, outside the spec.
public struct HostPaths: Sendable, Equatable, Codable {
    public var stateDirectory: String
    public var unitsDirectory: String
    public var secretsFile: String

    public init(stateDirectory: String = "/var/lib/mailroom", unitsDirectory: String = "/etc/systemd/system",
                secretsFile: String = "/etc/mailroom/secrets.env") {
        self.stateDirectory = stateDirectory
        self.unitsDirectory = unitsDirectory
        self.secretsFile = secretsFile
    }
}

/// A spec taken through expansion, validation and rendering.
public struct CompiledSpec: Sendable {
    public var spec: DeploymentSpec
    public var explicit: ExplicitSpec
    public var desired: DesiredState
    public var secrets: SecretValues
}

/// Spec → explicit spec → desired state. Pure apart from reading the secrets file.
public enum Renderer {
    /// Expands, validates and renders; reads secrets from `host.secretsFile`.
    public static func compile(_ spec: DeploymentSpec, host: HostPaths) throws -> CompiledSpec {
        let secrets = SecretValues.load(path: host.secretsFile, required: spec.mailu.requiredSecrets, extraKeys: spec.secrets.keys)
        return try compile(spec, secrets: secrets, unitsDirectory: host.unitsDirectory)
    }

    /// Compiles with stand-in secrets, for comparing commits without a host (`mailroom diff`).
    public static func compileWithoutHost(_ spec: DeploymentSpec, unitsDirectory: String) throws -> CompiledSpec {
        try compile(spec, secrets: .placeholder(keys: spec.mailu.requiredSecrets + spec.secrets.keys), unitsDirectory: unitsDirectory)
    }

    /// Reads a spec's text and compiles it, reporting syntax and meaning problems together.
    public static func compile(text: String, file: String, host: HostPaths) throws -> CompiledSpec {
        let (spec, diagnostics) = SpecLoader.read(text, file: file)
        guard let spec else { throw SpecError(diagnostics) }
        let secrets = SecretValues.load(path: host.secretsFile, required: spec.mailu.requiredSecrets, extraKeys: spec.secrets.keys)
        return try compile(spec, secrets: secrets, unitsDirectory: host.unitsDirectory, earlier: diagnostics)
    }

    public static func compile(_ spec: DeploymentSpec, secrets: SecretValues, unitsDirectory: String,
                               earlier: [SpecDiagnostic] = []) throws -> CompiledSpec {
        var d = DiagnosticCollector()
        for diagnostic in earlier { d.report(diagnostic) }
        spec.mailu.validate(file: spec.file, &d)
        let explicit = MailuProfile.expand(spec, secrets: secrets, &d)
        Validator.validate(explicit, &d)
        try d.throwIfAny()
        return CompiledSpec(spec: spec, explicit: explicit, desired: render(explicit, unitsDirectory: unitsDirectory), secrets: secrets)
    }

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
        return DesiredState(
            network: network(explicit.network), containers: containers, files: explicit.files, units: units,
            directories: explicit.directories, applicationVersion: explicit.applicationVersion)
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
        return DesiredNetwork(name: n.name, arguments: arguments, subnets: [n.subnet] + [n.subnet6].compactMap { $0 }, dns: n.dns)
    }
}

func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
    digest.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}
