// mailroom-fuzz: a libFuzzer target for the one compile path. Each input is a spec's text;
// it goes through `SpecCompiler` with the Mailu profile, and the target traps (so libFuzzer
// keeps the input) when the compiler crashes, throws anything but a `SpecError`, or accepts a
// spec whose rendered desired state carries a control character where it would break its
// reader. Built and run by contrib/fuzz.sh; only part of the package with MAILROOM_FUZZ=1.
//
// The oracle, on every spec the compiler accepts:
//   - podman arguments (containers and network), names, images, paths and directories hold
//     no forbidden character;
//   - every line of every generated file and unit holds none ("\n" separates the lines);
//   - `*.env` files are comments, blank lines and `KEY=VALUE` lines with valid, unique keys;
//     units are comments, blank lines, `[Section]`, `Key=value` and tab-indented continuations;
//     Caddyfiles balance their braces;
//   - no YAML scalar of the input holding a newline inside it appears verbatim
//     (or lowercased) in any argument, file or unit (scalars of `enabled: false` containers,
//     which are never rendered, are skipped).
//
// Forbidden characters, by MAILROOM_FUZZ_ORACLE:
//   c0 (default)  every C0 control character but TAB (U+0000–U+0008, U+000A–U+001F)
//   lines         only those that end a line or a C string: "\n", "\r", "\0"
//
// Every violation has a signature, `kind/class` (`argument/C0`, `env-file/line-break`,
// `env-shape`, `taint`, …), printed with it. MAILROOM_FUZZ_IGNORE names a file of signatures,
// one a line, that no longer trap: contrib/fuzz.sh adds each finding's signature there
// and fuzzes on, to find the next kind of violation rather than the same one again.
import Foundation
import MailroomMailu
import MailroomRender
import MailroomSpec
import MailroomSupport
import Yams

private let compiler = SpecCompiler(profile: MailuProfile(), unitsDirectory: "/etc/systemd/system")
private let secrets = SecretValues(path: "(fuzz)", values: ["SECRET_KEY": "k"])
private let oracle = Oracle(
    mode: ProcessInfo.processInfo.environment["MAILROOM_FUZZ_ORACLE"] ?? "c0",
    ignoring: ProcessInfo.processInfo.environment["MAILROOM_FUZZ_IGNORE"])
/// MAILROOM_FUZZ_VERBOSE=1: say on stderr whether each input was accepted, or why it was refused (for the corpus).
private let verbose = ProcessInfo.processInfo.environment["MAILROOM_FUZZ_VERBOSE"] == "1"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: data == nil ? 0 : size), as: UTF8.self)
    let compiled: CompiledSpec
    do {
        compiled = try compiler.compile(SpecText(text, file: "mailroom.yaml"), secrets: .values(secrets))
    } catch let error as SpecError {
        if error.diagnostics.isEmpty {
            oracle.fail("empty-refusal", "the compiler refused the spec without naming a problem")
        }
        if verbose { FileHandle.standardError.write(Data("mailroom-fuzz: refused: \(error)\n".utf8)) }
        return 0
    } catch {
        oracle.fail("not-spec-error", "the compiler threw \(type(of: error)), not a SpecError: \(error)")
        return 0
    }
    oracle.check(compiled, input: text)
    if verbose {
        let summary = "\(compiled.desired.containers.count) containers, \(compiled.desired.files.count) files"
        FileHandle.standardError.write(Data("mailroom-fuzz: accepted: \(summary)\n".utf8))
    }
    return 0
}

struct Oracle {
    /// Characters no rendered value may hold (TAB is allowed: it stays inside its line everywhere).
    let forbidden: @Sendable (Unicode.Scalar) -> Bool
    let mode: String
    /// Signatures that are reported no more (MAILROOM_FUZZ_IGNORE).
    let ignored: Set<String>

    init(mode: String, ignoring file: String?) {
        switch mode {
        case "lines": forbidden = { $0 == "\n" || $0 == "\r" || $0 == "\0" }
        case "c0": forbidden = { $0.value < 0x20 && $0 != "\t" }
        default:
            let message = "mailroom-fuzz: MAILROOM_FUZZ_ORACLE is c0 or lines, not '\(mode)'\n"
            FileHandle.standardError.write(Data(message.utf8))
            exit(64)
        }
        self.mode = mode
        let listed = file.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? ""
        let lines = listed.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        ignored = Set(lines.filter { !$0.isEmpty })
    }

    /// Reports a violation: one line on stderr, then a trap, so libFuzzer reports a deadly
    /// signal and saves the input. Returns only when the signature is ignored.
    func fail(_ signature: String, _ message: String) {
        if ignored.contains(signature) { return }
        FileHandle.standardError.write(Data("mailroom-fuzz: ORACLE (\(mode)) [\(signature)]: \(message)\n".utf8))
        fatalError("mailroom-fuzz: [\(signature)] \(message)")
    }

    /// The class of a forbidden character, for signatures.
    func characterClass(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n", "\r": return "line-break"
        case "\0": return "NUL"
        default: return "C0"
        }
    }

    func offending(_ text: String) -> Unicode.Scalar? {
        text.unicodeScalars.first(where: forbidden)
    }

    /// Fails when `value` holds a forbidden character; `kind` is the signature's first part,
    /// `what` says where the value was rendered.
    func value(_ value: String, _ kind: String, _ what: @autoclosure () -> String) {
        guard let scalar = offending(value) else { return }
        fail("\(kind)/\(characterClass(scalar))", "\(what()) holds \(name(scalar)): \(quoted(value))")
    }

    func check(_ compiled: CompiledSpec, input: String) {
        let desired = compiled.desired
        for argument in desired.network.arguments { value(argument, "argument", "a network argument") }
        for c in desired.containers {
            value(c.name, "name", "container name")
            value(c.image, "name", "container \(c.name)'s image")
            for argument in c.arguments { value(argument, "argument", "container \(c.name)'s argument") }
            for path in c.consumedFiles + c.contentInputs { value(path, "path", "container \(c.name)'s input path") }
            for name in c.dependsOn { value(name, "name", "container \(c.name)'s dependency") }
        }
        for directory in desired.directories { value(directory, "path", "a directory") }
        for file in desired.files + desired.units {
            value(file.path, "path", "a file path")
            checkLines(of: file)
            if file.path.hasSuffix(".env") { checkEnvFile(file) }
            if file.path.hasSuffix("Caddyfile") { checkCaddyfile(file) }
        }
        for unit in desired.units { checkUnit(unit) }
        checkTaint(input, desired)
    }

    func checkLines(of file: FileDefinition) {
        var kind = "file"
        if file.path.hasSuffix(".env") { kind = "env-file" }
        if file.path.hasSuffix("Caddyfile") { kind = "Caddyfile" }
        if file.path.hasSuffix(".service") { kind = "unit" }
        for (index, line) in file.content.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            value(String(line), kind, "line \(index + 1) of \(file.path)")
        }
    }

    /// podman's `--env-file` reader: a line without `=` passes a host variable through, and a
    /// key given twice is overridden, so every line must be a comment, blank or one `KEY=VALUE`.
    func checkEnvFile(_ file: FileDefinition) {
        var keys = Set<String>()
        for (index, line) in file.content.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "="), SpecLoader.isEnvKey(String(line[..<equals])) else {
                fail("env-shape", "line \(index + 1) of \(file.path) is not KEY=VALUE: \(quoted(String(line)))")
                continue
            }
            let key = String(line[..<equals])
            if !keys.insert(key).inserted {
                fail("env-shape", "line \(index + 1) of \(file.path) sets \(key) a second time")
            }
        }
    }

    /// Every line of a unit is one of the shapes Mailroom writes; anything else came from a value.
    func checkUnit(_ unit: FileDefinition) {
        for (index, line) in unit.content.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("\t") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") { continue }
            if let equals = line.firstIndex(of: "="), !line[..<equals].isEmpty,
                line[..<equals].unicodeScalars.allSatisfy({ $0.isASCIIAlphanumeric })
            {
                continue
            }
            fail("unit-shape", "line \(index + 1) of \(unit.path) is no unit line: \(quoted(String(line)))")
        }
    }

    func checkCaddyfile(_ file: FileDefinition) {
        var depth = 0
        for (index, line) in file.content.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            for character in line {
                if character == "{" { depth += 1 }
                if character == "}" { depth -= 1 }
                if depth < 0 {
                    fail("caddy-braces", "line \(index + 1) of \(file.path) closes a block it did not open")
                    return
                }
            }
        }
        if depth != 0 { fail("caddy-braces", "\(file.path) leaves \(depth) block(s) open") }
    }

    /// A scalar of the input with a newline inside it must not reach any rendered text, even
    /// where its lines fit the shapes the checks above accept. (Every other forbidden
    /// character is seen by the line checks themselves.)
    func checkTaint(_ input: String, _ desired: DesiredState) {
        guard let root = try? Yams.compose(yaml: input, .basic) else { return }
        var tainted: [String] = []
        collectTainted(root, into: &tainted)
        guard !tainted.isEmpty else { return }
        let rendered =
            desired.network.arguments + desired.containers.flatMap(\.arguments) + desired.files.map(\.content)
            + desired.units.map(\.content)
        for scalar in tainted {
            for candidate in Set([scalar, scalar.lowercased()])
            where rendered.contains(where: { $0.contains(candidate) }) {
                let message = "the spec value \(quoted(scalar)) was accepted into the rendered desired state"
                fail("taint/line-break", message)
            }
        }
    }

    /// Scalars (keys and values) with a newline between two other characters; skips
    /// the patches of containers switched off with `enabled: false`, which are never rendered.
    func collectTainted(_ node: Node, into tainted: inout [String], path: [String] = []) {
        switch node {
        case .scalar(let scalar):
            let core = scalar.string.trimmingCharacters(in: .whitespacesAndNewlines.union(.controlCharacters))
            if core.unicodeScalars.contains("\n") { tainted.append(scalar.string) }
        case .mapping(let mapping):
            if path.count == 2, path[0] == "containers",
                let enabled = mapping.first(where: { $0.key.string == "enabled" })?.value.string,
                ["false", "False", "FALSE", "no", "off"].contains(enabled)
            {
                return
            }
            for (key, value) in mapping {
                collectTainted(key, into: &tainted, path: path)
                collectTainted(value, into: &tainted, path: path + [key.string ?? "?"])
            }
        case .sequence(let sequence):
            for item in sequence { collectTainted(item, into: &tainted, path: path + ["[]"]) }
        case .alias:
            break
        }
    }

    func name(_ scalar: Unicode.Scalar) -> String {
        "U+" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4)
    }

    /// The value with control characters written as escapes, cut to a readable length.
    func quoted(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(200) {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u{" + String(scalar.value, radix: 16) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return "\"" + out + (text.unicodeScalars.count > 200 ? "…" : "") + "\""
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
