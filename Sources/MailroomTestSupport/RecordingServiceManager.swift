import Foundation
import MailroomHost

/// A FAKE systemd for tests: systemd cannot be PID 1 on these machines. It records every
/// action and, for start and restart, does what the unit would do: runs the podman command
/// of its `ExecStart=` (with `%t`, `%n` and `%%` expanded), so the written units are run for real.
package final class RecordingServiceManager: ServiceManager, @unchecked Sendable {
    package let unitsDirectory: String
    package let runtimeDirectory: String
    private let lock = NSLock()
    private var recorded: [ServiceAction] = []

    package init(unitsDirectory: String, runtimeDirectory: String) {
        self.unitsDirectory = unitsDirectory
        self.runtimeDirectory = runtimeDirectory
    }

    package var actions: [ServiceAction] { lock.withLock { recorded } }
    package func reset() { lock.withLock { recorded.removeAll() } }

    package func perform(_ action: ServiceAction) async throws {
        lock.withLock { recorded.append(action) }
        switch action {
        case .start(let unit), .restart(let unit):
            // Only container units run: another unit (the routes between hosts) would change
            // this machine's network, which tests leave alone.
            guard unit.hasPrefix("container-") else { return }
            let text = try String(contentsOfFile: "\(unitsDirectory)/\(unit)", encoding: .utf8)
            guard let argv = Self.execStart(text, unit: unit, runtime: runtimeDirectory) else {
                throw TestSetupError("\(unit) has no ExecStart=")
            }
            try? FileManager.default.removeItem(atPath: "\(runtimeDirectory)/\(unit).ctr-id")  // ExecStartPre
            try await TestPodman.podman().execute(Array(argv.dropFirst()))
        case .disableNow(let unit):
            let name = String(unit.dropFirst("container-".count).dropLast(".service".count))
            try await TestPodman.podman().execute(["container", "rm", "--force", "--ignore", name])
        case .daemonReload, .enable:
            break
        }
    }

    /// The words of `ExecStart=`, unquoted the way systemd does, specifiers expanded.
    package static func execStart(_ unit: String, unit name: String, runtime: String) -> [String]? {
        var lines = unit.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("ExecStart=") }) else { return nil }
        lines = Array(lines[start...])
        var command = ""
        for line in lines {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasSuffix("\\") {
                command += trimmed.dropLast() + " "
            } else {
                command += trimmed
                break
            }
        }
        command = String(command.dropFirst("ExecStart=".count))
        var words: [String] = []
        var word = ""
        var quoted = false
        var escaped = false
        var inWord = false
        for character in command {
            if escaped {
                word.append(character)
                escaped = false
                continue
            }
            if quoted && character == "\\" {
                escaped = true
                continue
            }
            if character == "\"" {
                quoted.toggle()
                inWord = true
                continue
            }
            if !quoted && (character == " " || character == "\t") {
                if inWord {
                    words.append(word)
                    word = ""
                    inWord = false
                }
                continue
            }
            word.append(character)
            inWord = true
        }
        if inWord { words.append(word) }
        return words.map { w in
            w.replacingOccurrences(of: "%%", with: "\u{0}").replacingOccurrences(of: "%t", with: runtime)
                .replacingOccurrences(of: "%n", with: name).replacingOccurrences(of: "\u{0}", with: "%")
                .replacingOccurrences(of: "$$", with: "$")
        }
    }
}
