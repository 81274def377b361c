import MailroomHost
import MailroomRender
import MailroomSpec
import MailroomSupport

/// The pipeline, top to bottom: Source → Spec → Render → Observe → Plan (→ Apply).
/// The CLI, the agent and the tests call these and nothing below them.
public struct Pipeline: Sendable {
    public var host: HostPaths
    /// `nil` when podman is not installed: plans are made against an empty host.
    public var engine: (any ContainerEngine)?
    /// The application profile that reads its sections of the spec (the CLI passes Mailu's).
    public var profile: any Profile

    public init(host: HostPaths, engine: (any ContainerEngine)?, profile: any Profile) {
        self.host = host
        self.engine = engine
        self.profile = profile
    }

    /// The one compile path, with this host's units directory.
    public var compiler: SpecCompiler {
        var compiler = SpecCompiler(profile: profile, unitsDirectory: host.unitsDirectory)
        compiler.hostName = host.hostName
        return compiler
    }

    /// Reads, expands, validates and renders the spec in `directory`.
    public func compile(specDirectory directory: String) throws -> CompiledSpec {
        try compile(SpecText.directory(directory))
    }

    /// Compiles a spec's text (read from git, for instance) with the host's secrets file.
    public func compile(_ text: SpecText) throws -> CompiledSpec {
        try compiler.compile(text, secrets: .file(host.secretsFile))
    }

    /// Compiles a spec's text; `file` names it in errors.
    public func compile(specText text: String, file: String) throws -> CompiledSpec {
        try compile(SpecText(text, file: file))
    }

    /// Compiles with stand-in secrets, to compare commits without a host (`mailroom diff`).
    public func compileWithoutHost(_ text: SpecText) throws -> CompiledSpec {
        try compiler.compile(text, secrets: .placeholders)
    }

    /// Compiles the whole deployment, whichever host this is, with stand-in secrets: what
    /// is the same on every host (`mailroom dns`, `dkim`).
    public func compileDeployment(_ text: SpecText) throws -> CompiledSpec {
        var compiler = compiler
        compiler.selectsHost = false
        return try compiler.compile(text, secrets: .placeholders)
    }

    /// Observes the host and diffs it against the compiled spec.
    public func plan(_ compiled: CompiledSpec) async throws -> (plan: Plan, actual: ActualState) {
        let actual = try await Observer(engine: engine, host: host).observe(compiled.desired)
        var warnings: [String] = []
        if let problem = compiled.secrets.problem { warnings.append(problem + "; apply refuses until it is fixed") }
        if let layout = compiled.explicit.layout { warnings += layout.warnings[layout.current] ?? [] }
        let plan = Planner.plan(desired: compiled.desired, actual: actual, warnings: warnings)
        return (try await ImageCheck.check(plan, desired: compiled.desired, engine: engine), actual)
    }
}
