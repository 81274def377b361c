/// The pipeline, top to bottom: Source → Spec → Render → Observe → Plan (→ Apply).
/// The CLI and the agent call these and nothing below them.
public struct Pipeline: Sendable {
    public var host: HostPaths
    /// `nil` when podman is not installed: plans are made against an empty host.
    public var engine: (any ContainerEngine)?

    public init(host: HostPaths, engine: (any ContainerEngine)?) {
        self.host = host
        self.engine = engine
    }

    /// Reads, expands, validates and renders the spec in `directory`.
    public func compile(specDirectory directory: String) throws -> CompiledSpec {
        try Renderer.compile(text: SpecLoader.text(directory: directory), file: SpecLoader.path(directory: directory), host: host)
    }

    /// Compiles a spec's text (read from git, for instance); `file` names it in errors.
    public func compile(specText text: String, file: String) throws -> CompiledSpec {
        try Renderer.compile(text: text, file: file, host: host)
    }

    /// Observes the host and diffs it against the compiled spec.
    public func plan(_ compiled: CompiledSpec) async throws -> (plan: Plan, actual: ActualState) {
        let actual = try await Observer(engine: engine, host: host).observe(compiled.desired)
        var warnings: [String] = []
        if let problem = compiled.secrets.problem { warnings.append(problem + "; apply refuses until it is fixed") }
        return (Planner.plan(desired: compiled.desired, actual: actual, warnings: warnings), actual)
    }
}
