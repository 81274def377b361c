import ArgumentParser
import Foundation
import MailroomPlan
import MailroomRender
import MailroomSpec
import MailroomSupport
import Yams

struct Render: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the desired state: podman commands, files and units.",
        discussion: """
            Without options, prints the podman commands the spec stands for.
              --explain       what the profile expanded the spec into, every container
                              key explicit, plus the files and directories (YAML, for
                              reading: it is not a spec, and `validate` refuses it)
              --output json   per container its name and argv (after `podman`), and
                              the dependency edges
              --out DIR       also write every generated file and unit under DIR, at
                              its host path
            Example:
              mailroom render examples/seed-guide --output json
            """)

    @OptionGroup var spec: SpecOptions
    @OptionGroup var host: HostOptions
    @Option(help: "Write generated files and units under this directory.", completion: .directory) var out: String?
    @Flag(help: "Print what the profile expands the spec into (YAML for reading; not a spec).") var explain = false
    @Option(help: "Output format: text or json.") var output: OutputFormat = .text

    func validate() throws {
        if explain && output == .json {
            throw ValidationError("--explain prints YAML; drop --output json, or drop --explain")
        }
    }

    func run() async throws {
        let (_, loaded) = try await spec.load(state: host.state)
        let compiled: CompiledSpec
        do {
            compiled = try host.on(spec).pipeline().compile(loaded.text)
        } catch let error as SpecError {
            throw reportSpecError(error)
        }
        let desired = compiled.desired
        if let out {
            // The same warning `plan` gives: never an empty secret in a written file without saying so.
            if let problem = compiled.secrets.problem {
                FileHandle.standardError.write(
                    Data("warning: \(problem); the files under \(out) hold empty secrets\n".utf8))
            }
            try write(desired, under: out)
        }
        if explain {
            print(ExplainedSpec.header)
            print(try YAMLEncoder().encode(ExplainedSpec(compiled.explicit)), terminator: "")
        } else if output == .json {
            try printJSON(RenderReport(desired))
        } else {
            print("podman " + desired.network.arguments.map(shellQuote).joined(separator: " "))
            for c in desired.containers {
                print("")
                print("# \(c.name)" + (c.dependsOn.isEmpty ? "" : " (after \(c.dependsOn.joined(separator: ", ")))"))
                let flags = c.arguments.dropFirst(2).map(shellQuote)
                print((["podman container run"] + flags).joined(separator: " \\\n    "))
            }
            print("")
            for file in desired.files { print("# file \(file.path) (mode \(String(file.mode, radix: 8)))") }
            for unit in desired.units { print("# unit \(unit.path)") }
        }
    }

    func write(_ desired: DesiredState, under root: String) throws {
        let paths = (desired.files + desired.units).map { root + $0.path }
        // What an earlier render killed mid-write left: its temporaries, never other files.
        AtomicFile.removeStaleTemporaries(in: paths.map { ($0 as NSString).deletingLastPathComponent })
        // One batch: every file is its old content or its new one after a crash, with one sync in all.
        try AtomicFile.write(
            (desired.files + desired.units).map {
                AtomicFile.Item(path: root + $0.path, content: $0.content, mode: $0.mode)
            })
    }
}

/// `render --output json`: enough for any tool to check the commands and their order.
struct RenderReport: Encodable {
    struct Container: Encodable {
        var name: String
        var argv: [String]
        var dependsOn: [String]
        var level: Int
        enum CodingKeys: String, CodingKey { case name, argv, dependsOn = "depends_on", level }
    }
    struct Network: Encodable {
        var name: String
        var argv: [String]
    }
    struct File: Encodable {
        var path: String
        var mode: String
    }
    var network: Network
    var containers: [Container]
    var edges: [DesiredState.Edge]
    var files: [File]
    var units: [File]

    init(_ d: DesiredState) {
        network = Network(name: d.network.name, argv: d.network.arguments)
        containers = d.containers.map {
            Container(name: $0.name, argv: $0.arguments, dependsOn: $0.dependsOn, level: $0.level)
        }
        edges = d.edges
        files = d.files.map { File(path: $0.path, mode: String($0.mode, radix: 8)) }
        units = d.units.map { File(path: $0.path, mode: String($0.mode, radix: 8)) }
    }
}

/// `render --explain`: the explicit spec, files listed by path (their content may hold secrets).
/// Not a spec: the profile's sections are already expanded into containers, files and directories,
/// which `mailroom.yaml` does not take, so `validate` refuses it.
struct ExplainedSpec: Encodable {
    static let header = """
        # What the profile expanded the spec into: the network, every container with every key
        # explicit, the generated files (by path) and the directories. For reading, not a spec:
        # mailroom.yaml takes none of these sections this way, and validate refuses this text.
        """

    var network: NetworkSpec
    var containers: [ContainerDefinition]
    var files: [String]
    var directories: [String]

    init(_ e: ExplicitSpec) {
        network = e.network
        containers = e.containers
        files = e.files.map(\.path)
        directories = e.directories
    }

    enum CodingKeys: String, CodingKey { case network, containers, files, directories }
    enum NetworkKeys: String, CodingKey { case name, subnet, gateway, subnet6, gateway6, dns }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        var n = c.nestedContainer(keyedBy: NetworkKeys.self, forKey: .network)
        try n.encode(network.name, forKey: .name)
        try n.encode(network.subnet, forKey: .subnet)
        try n.encode(network.gateway, forKey: .gateway)
        try n.encodeIfPresent(network.subnet6, forKey: .subnet6)
        try n.encodeIfPresent(network.gateway6, forKey: .gateway6)
        try n.encode(network.dns, forKey: .dns)
        try c.encode(containers, forKey: .containers)
        try c.encode(files, forKey: .files)
        try c.encode(directories, forKey: .directories)
    }
}

/// Quotes an argument for a POSIX shell, only when it needs it.
func shellQuote(_ argument: String) -> String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=/.,:@%+")
    if !argument.isEmpty && argument.allSatisfy({ safe.contains($0) }) { return argument }
    return "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
