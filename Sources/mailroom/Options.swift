import ArgumentParser
import Foundation
import Mailroom

/// The spec directory, first argument of every command that reads a spec.
struct SpecOptions: ParsableArguments {
    @Argument(help: "The spec directory, holding mailroom.yaml.", completion: .directory)
    var spec: String = "."
}

/// Where Mailroom keeps its state and finds host files.
struct HostOptions: ParsableArguments {
    @Option(name: .customLong("state-dir"), help: "State directory (applied record, journal, git mirror).")
    var stateDirectory: String = "/var/lib/mailroom"

    @Option(name: .customLong("units-dir"), help: "Where systemd units are installed.")
    var unitsDirectory: String = "/etc/systemd/system"

    @Option(name: .customLong("secrets-file"), help: "Local KEY=value file with the secrets the spec names (mode 0600).")
    var secretsFile: String = "/etc/mailroom/secrets.env"

    var paths: HostPaths {
        HostPaths(stateDirectory: stateDirectory, unitsDirectory: unitsDirectory, secretsFile: secretsFile)
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// Colour only on a terminal, and never with NO_COLOR set.
var useColor: Bool {
    isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"].map(\.isEmpty) ?? true
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Prints a spec error to stderr and exits 1: the spec was not used.
func reportSpecError(_ error: SpecError) -> ExitCode {
    FileHandle.standardError.write(Data((error.description + "\n").utf8))
    return ExitCode(1)
}
