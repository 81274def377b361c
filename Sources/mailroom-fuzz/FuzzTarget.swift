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
//   cc (default)  every control character the validator refuses (C0, DEL, C1); TAB only in
//                 arguments, names, paths and mailu.env, since units and Caddyfiles indent with it
//   c0            every C0 control character but TAB (U+0000–U+0008, U+000A–U+001F)
//   lines         only those that end a line or a C string: "\n", "\r", "\0"
//
// Every violation has a signature, printed with it: what it is (a forbidden character's class,
// `control`, `tab`, `line-break` or `NUL`, wherever it landed; or `env-shape`, `unit-shape`, `caddy-braces`,
// `taint/line-break`), then `@` and the input field it most likely came from
// (`NUL@network.gateway`, `env-shape@mailu.roundcube_plugins[]`, `control@containers.*.labels.*`).
// MAILROOM_FUZZ_IGNORE names a file of signatures, one a line, that no longer trap (`control` alone
// covers every field, `@mailu.roundcube_plugins[]` every kind): contrib/fuzz.sh adds each
// finding's signature there and fuzzes on, to find the next kind of violation rather than
// the same one again.
//
// Half the mutations are libFuzzer's; the other half insert a control-character escape or raw
// line breaks into a double-quoted string (see `customMutator`).
import Foundation
import MailroomMailu
import MailroomRender
import MailroomSpec
import MailroomSupport
import Yams

private let compiler = SpecCompiler(profile: MailuProfile(), unitsDirectory: "/etc/systemd/system")
private let secrets = SecretValues(path: "(fuzz)", values: ["SECRET_KEY": "k"])
private let oracle = Oracle(
    mode: ProcessInfo.processInfo.environment["MAILROOM_FUZZ_ORACLE"] ?? "cc",
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
    var run = oracle
    run.input = text
    run.check(compiled)
    if verbose {
        let summary = "\(compiled.desired.containers.count) containers, \(compiled.desired.files.count) files"
        FileHandle.standardError.write(Data("mailroom-fuzz: accepted: \(summary)\n".utf8))
    }
    return 0
}

struct Oracle {
    /// Characters no rendered value may hold (TAB is allowed: it stays inside its line everywhere).
    let forbidden: @Sendable (Unicode.Scalar) -> Bool
    /// Whether a TAB is forbidden too where no generated text puts one (cc).
    let tabForbidden: Bool
    let mode: String
    /// Signatures that are reported no more (MAILROOM_FUZZ_IGNORE).
    let ignored: Set<String>
    /// The spec's text, to name the field a violation came from.
    var input = ""

    init(mode: String, ignoring file: String?) {
        switch mode {
        case "lines": forbidden = { $0 == "\n" || $0 == "\r" || $0 == "\0" }
        case "c0": forbidden = { $0.value < 0x20 && $0 != "\t" }
        case "cc": forbidden = { ($0.value < 0x20 && $0 != "\t") || (0x7F...0x9F).contains($0.value) }
        default:
            let message = "mailroom-fuzz: MAILROOM_FUZZ_ORACLE is cc, c0 or lines, not '\(mode)'\n"
            FileHandle.standardError.write(Data(message.utf8))
            exit(64)
        }
        self.mode = mode
        tabForbidden = mode == "cc"
        let listed = file.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? ""
        let lines = listed.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        ignored = Set(lines.filter { !$0.isEmpty })
    }

    /// Reports a violation: one line on stderr, then a trap, so libFuzzer reports a deadly
    /// signal and saves the input. Returns only when the signature is ignored.
    func fail(_ signature: String, _ message: String) {
        let kind = String(signature.prefix { $0 != "@" })
        let field = String(signature.dropFirst(kind.count))
        if ignored.contains(signature) || ignored.contains(kind) || ignored.contains(field) { return }
        FileHandle.standardError.write(Data("mailroom-fuzz: ORACLE (\(mode)) <\(signature)>: \(message)\n".utf8))
        fatalError("mailroom-fuzz: <\(signature)> \(message)")
    }

    /// The class of a forbidden character, for signatures.
    func characterClass(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n", "\r": return "line-break"
        case "\0": return "NUL"
        case "\t": return "tab"
        default: return "control"
        }
    }

    func offending(_ text: String) -> Unicode.Scalar? {
        text.unicodeScalars.first(where: forbidden)
    }

    /// Fails when `value` holds a forbidden character; `kind` is the signature's first part,
    /// `what` says where the value was rendered.
    func value(_ value: String, _ kind: String, _ what: @autoclosure () -> String) {
        let tab = tabForbidden && !["unit", "Caddyfile", "file"].contains(kind) && value.unicodeScalars.contains("\t")
        guard let scalar = offending(value) ?? (tab ? "\t" : nil) else { return }
        // The same value lands in several places (an argument, its unit line, a path): the
        // signature is the character's class and the field, so it is one finding.
        let signature = "\(characterClass(scalar))@\(source(of: value))"
        fail(signature, "\(kind): \(what()) holds \(name(scalar)): \(quoted(value))")
    }

    /// The field of the input (a normalised dotted path) whose value most likely put `text`
    /// where it was rendered: of the scalars that hold a forbidden character or a newline,
    /// the one with the longest piece between those characters found in `text`.
    func source(of text: String) -> String {
        guard let root = try? Yams.compose(yaml: input, .basic) else { return "?" }
        var scalars: [(path: String, value: String)] = []
        collect(root, into: &scalars) { $0.unicodeScalars.contains { forbidden($0) || $0 == "\n" } }
        var best: (path: String, length: Int)?
        for scalar in scalars {
            let pieces = scalar.value.unicodeScalars.split { forbidden($0) || $0 == "\n" }.map { String($0) }
            var length = pieces.filter { text.contains($0) }.map(\.count).max()
            // A value of control characters only matches text that holds its first one.
            if pieces.isEmpty, let first = scalar.value.unicodeScalars.first, text.unicodeScalars.contains(first) {
                length = 0
            }
            guard let length, length > (best?.length ?? -1) else { continue }
            best = (scalar.path, length)
        }
        // Text after a value's last newline shares nothing with it: a lone candidate is the one.
        return best?.path ?? (scalars.count == 1 ? scalars[0].path : "?")
    }

    func check(_ compiled: CompiledSpec) {
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
        checkTaint(desired)
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
            // Readers split bytes, not grapheme clusters: "=" followed by a combining mark is still "=".
            let scalars = line.unicodeScalars
            guard let equals = scalars.firstIndex(of: "="), SpecLoader.isEnvKey(String(scalars[..<equals])) else {
                let message = "line \(index + 1) of \(file.path) is not KEY=VALUE: \(quoted(String(line)))"
                fail("env-shape@\(source(of: String(line)))", message)
                continue
            }
            let key = String(scalars[..<equals])
            if !keys.insert(key).inserted {
                let message = "line \(index + 1) of \(file.path) sets \(key) a second time"
                fail("env-shape@\(source(of: String(line)))", message)
            }
        }
    }

    /// Every line of a unit is one of the shapes Mailroom writes; anything else came from a value.
    func checkUnit(_ unit: FileDefinition) {
        for (index, line) in unit.content.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("\t") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") { continue }
            if let equals = line.unicodeScalars.firstIndex(of: "="), !line.unicodeScalars[..<equals].isEmpty,
                line.unicodeScalars[..<equals].allSatisfy({ $0.isASCIIAlphanumeric })
            {
                continue
            }
            let message = "line \(index + 1) of \(unit.path) is no unit line: \(quoted(String(line)))"
            fail("unit-shape@\(source(of: String(line)))", message)
        }
    }

    func checkCaddyfile(_ file: FileDefinition) {
        var depth = 0
        for (index, line) in file.content.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            for scalar in line.unicodeScalars {
                if scalar == "{" { depth += 1 }
                if scalar == "}" { depth -= 1 }
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
    func checkTaint(_ desired: DesiredState) {
        guard let root = try? Yams.compose(yaml: input, .basic) else { return }
        var tainted: [(path: String, value: String)] = []
        collect(root, into: &tainted) {
            $0.trimmingCharacters(in: .whitespacesAndNewlines.union(.controlCharacters)).unicodeScalars.contains("\n")
        }
        guard !tainted.isEmpty else { return }
        let rendered =
            desired.network.arguments + desired.containers.flatMap(\.arguments) + desired.files.map(\.content)
            + desired.units.map(\.content)
        for (path, scalar) in tainted {
            for candidate in Set([scalar, scalar.lowercased()])
            where rendered.contains(where: { $0.contains(candidate) }) {
                let message = "the spec value \(quoted(scalar)) was accepted into the rendered desired state"
                fail("taint/line-break@\(path)", message)
            }
        }
    }

    /// The scalars (keys and values) `wanted` picks, with their normalised paths: list
    /// indexes as `[]`, container names and env and label keys as `*`. Skips the patches of
    /// containers switched off with `enabled: false`, which are never rendered.
    func collect(
        _ node: Node, path: [String] = [], into found: inout [(path: String, value: String)],
        _ wanted: (String) -> Bool
    ) {
        switch node {
        case .scalar(let scalar):
            if wanted(scalar.string) { found.append((path.joined(separator: "."), scalar.string)) }
        case .mapping(let mapping):
            if path.count == 2, path[0] == "containers",
                let enabled = mapping.first(where: { $0.key.string == "enabled" })?.value.string,
                ["false", "False", "FALSE", "no", "off"].contains(enabled)
            {
                return
            }
            let freeKeys = path == ["containers"] || ["env", "labels"].contains(path.last ?? "")
            for (key, value) in mapping {
                let name = freeKeys ? "*" : key.string ?? "?"
                collect(key, path: path + [name + "(key)"], into: &found, wanted)
                collect(value, path: path + [name], into: &found, wanted)
            }
        case .sequence(let sequence):
            let listPath = path.isEmpty ? ["[]"] : path.dropLast() + [path.last! + "[]"]
            for item in sequence { collect(item, path: listPath, into: &found, wanted) }
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

// MARK: - Mutation

/// libFuzzer's own mutator (byte edits, dictionary entries, parts of other inputs).
@_silgen_name("LLVMFuzzerMutate")
private func libFuzzerMutate(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int) -> Int

/// Half the mutations are libFuzzer's; the other half put a control character where the
/// readers take text: an escape (or raw line breaks, which YAML folds into newlines) at a
/// random place inside a double-quoted string. Byte edits alone rarely make an escape there
/// and keep the rest of the spec valid.
@_cdecl("LLVMFuzzerCustomMutator")
public func customMutator(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    guard let data else { return 0 }
    var random = SplitMix64(seed: UInt64(seed))
    if random.next() % 2 == 0 { return libFuzzerMutate(data, size, maxSize) }
    // Places inside double-quoted strings: after the opening quote, up to the closing one.
    var places: [Int] = []
    var quoted = false
    var index = 0
    while index < size {
        let byte = data[index]
        if byte == UInt8(ascii: "\n") {
            quoted = false
        } else if quoted && byte == UInt8(ascii: "\\") {
            places.append(index)
            index += 2
            continue
        } else if byte == UInt8(ascii: "\"") {
            if quoted { places.append(index) }
            quoted.toggle()
        } else if quoted {
            places.append(index)
        }
        index += 1
    }
    let escape = Array(insertions[Int(random.next() % UInt64(insertions.count))].utf8)
    guard !places.isEmpty, size + escape.count <= maxSize else { return libFuzzerMutate(data, size, maxSize) }
    // Half the time at the end of a string: where an address or a name ends, so the rest
    // still parses (inet_pton, for one, stops reading at a NUL).
    let ends = places.filter { data[$0] == UInt8(ascii: "\"") }
    let choices = !ends.isEmpty && random.next() % 2 == 0 ? ends : places
    let place = choices[Int(random.next() % UInt64(choices.count))]
    (data + place + escape.count).update(from: data + place, count: size - place)
    (data + place).update(from: escape, count: escape.count)
    return size + escape.count
}

/// What the mutator inserts into a double-quoted string: YAML escapes for every kind of
/// control character, and raw line breaks.
private let insertions = [
    "\\0", "\\n", "\\r", "\\r\\n", "\\e", "\\a", "\\b", "\\v", "\\f", "\\x01", "\\x1b", "\\x1f", "\\x7f", "\\t",
    "\\N", "\\L", "\\P", "\\u0085", "\\x9b", "\\u2028", "\\U0000000a", "\n\n", "\r\r", "\r\n\r\n",
]

/// A small deterministic generator, so libFuzzer's seed reproduces a mutation.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
