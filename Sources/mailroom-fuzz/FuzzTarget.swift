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
//   - no YAML scalar of the input holding a forbidden character inside it appears verbatim
//     (or lowercased) in any argument, file or unit (scalars of `enabled: false` containers,
//     which are never rendered, are skipped).
//
// Forbidden characters, by MAILROOM_FUZZ_ORACLE:
//   c0 (default)  every C0 control character but TAB (U+0000–U+0008, U+000A–U+001F)
//   lines         only those that end a line or a C string: "\n", "\r", "\0"
import Foundation
import MailroomMailu
import MailroomRender
import MailroomSpec
import MailroomSupport
import Yams

private let compiler = SpecCompiler(profile: MailuProfile(), unitsDirectory: "/etc/systemd/system")
private let secrets = SecretValues(path: "(fuzz)", values: ["SECRET_KEY": "k"])
private let oracle = Oracle(mode: ProcessInfo.processInfo.environment["MAILROOM_FUZZ_ORACLE"] ?? "c0")
/// MAILROOM_FUZZ_VERBOSE=1: say on stderr whether each input was accepted, or why it was refused (for the corpus).
private let verbose = ProcessInfo.processInfo.environment["MAILROOM_FUZZ_VERBOSE"] == "1"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: data == nil ? 0 : size), as: UTF8.self)
    let compiled: CompiledSpec
    do {
        compiled = try compiler.compile(SpecText(text, file: "mailroom.yaml"), secrets: .values(secrets))
    } catch let error as SpecError {
        if error.diagnostics.isEmpty { oracle.fail("the compiler refused the spec without naming a problem") }
        if verbose { FileHandle.standardError.write(Data("mailroom-fuzz: refused: \(error)\n".utf8)) }
        return 0
    } catch {
        oracle.fail("the compiler threw \(type(of: error)), not a SpecError: \(error)")
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

    init(mode: String) {
        switch mode {
        case "lines": forbidden = { $0 == "\n" || $0 == "\r" || $0 == "\0" }
        case "c0": forbidden = { $0.value < 0x20 && $0 != "\t" }
        default:
            let message = "mailroom-fuzz: MAILROOM_FUZZ_ORACLE is c0 or lines, not '\(mode)'\n"
            FileHandle.standardError.write(Data(message.utf8))
            exit(64)
        }
        self.mode = mode
    }

    func fail(_ message: String) -> Never {
        // One line on stderr, then a trap: libFuzzer reports a deadly signal and saves the input.
        FileHandle.standardError.write(Data("mailroom-fuzz: ORACLE (\(mode)): \(message)\n".utf8))
        fatalError("mailroom-fuzz: \(message)")
    }

    func offending(_ text: String) -> Unicode.Scalar? {
        text.unicodeScalars.first(where: forbidden)
    }

    /// Fails when `value` holds a forbidden character; `what` says where it was rendered.
    func value(_ value: String, _ what: @autoclosure () -> String) {
        if let scalar = offending(value) { fail("\(what()) holds \(name(scalar)): \(quoted(value))") }
    }

    func check(_ compiled: CompiledSpec, input: String) {
        let desired = compiled.desired
        for argument in desired.network.arguments { value(argument, "a network argument") }
        for c in desired.containers {
            value(c.name, "container name")
            value(c.image, "container \(c.name)'s image")
            for argument in c.arguments { value(argument, "container \(c.name)'s argument") }
            for path in c.consumedFiles + c.contentInputs { value(path, "container \(c.name)'s input path") }
            for name in c.dependsOn { value(name, "container \(c.name)'s dependency") }
        }
        for directory in desired.directories { value(directory, "a directory") }
        for file in desired.files + desired.units {
            value(file.path, "a file path")
            checkLines(of: file)
            if file.path.hasSuffix(".env") { checkEnvFile(file) }
            if file.path.hasSuffix("Caddyfile") { checkCaddyfile(file) }
        }
        for unit in desired.units { checkUnit(unit) }
        checkTaint(input, desired)
    }

    func checkLines(of file: FileDefinition) {
        for (index, line) in file.content.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            value(String(line), "line \(index + 1) of \(file.path)")
        }
    }

    /// podman's `--env-file` reader: a line without `=` passes a host variable through, and a
    /// key given twice is overridden, so every line must be a comment, blank or one `KEY=VALUE`.
    func checkEnvFile(_ file: FileDefinition) {
        var keys = Set<String>()
        for (index, line) in file.content.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "="), SpecLoader.isEnvKey(String(line[..<equals])) else {
                fail("line \(index + 1) of \(file.path) is not KEY=VALUE: \(quoted(String(line)))")
            }
            let key = String(line[..<equals])
            if !keys.insert(key).inserted { fail("line \(index + 1) of \(file.path) sets \(key) a second time") }
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
            fail("line \(index + 1) of \(unit.path) is no unit line: \(quoted(String(line)))")
        }
    }

    func checkCaddyfile(_ file: FileDefinition) {
        var depth = 0
        for (index, line) in file.content.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            for character in line {
                if character == "{" { depth += 1 }
                if character == "}" { depth -= 1 }
                if depth < 0 { fail("line \(index + 1) of \(file.path) closes a block it did not open") }
            }
        }
        if depth != 0 { fail("\(file.path) leaves \(depth) block(s) open") }
    }

    /// A scalar of the input that holds a forbidden character inside it must not reach any
    /// rendered text, even where it stays inside a line structure the checks above accept.
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
                fail("the spec value \(quoted(scalar)) was accepted into the rendered desired state")
            }
        }
    }

    /// Scalars (keys and values) with a forbidden character between two allowed ones; skips
    /// the patches of containers switched off with `enabled: false`, which are never rendered.
    func collectTainted(_ node: Node, into tainted: inout [String], path: [String] = []) {
        switch node {
        case .scalar(let scalar):
            let core = scalar.string.trimmingCharacters(in: .whitespacesAndNewlines.union(.controlCharacters))
            if core.unicodeScalars.contains(where: forbidden) { tainted.append(scalar.string) }
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
