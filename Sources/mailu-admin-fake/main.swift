import FoundationEssentials
import Glibc

// mailu-admin-fake: a FAKE of Mailu 2.0's admin command line, `flask mailu ...`, for tests
// only. The stand-in admin image (MailroomTestSupport/StandInImages.swift) installs it as
// /usr/bin/flask. It implements the command-line contract of `admin`, `config-export` and
// `config-import` (core/admin/mailu/manage.py and schemas.py, branch 2.0) over a JSON file
// instead of Mailu's database, and logs every call so tests can see what Mailroom ran.
// It is no Mailu: no passlib hashes, no DKIM keys, no YAML, no other command.
//
//   store     /data/fake-mailu.json             (MAILU_FAKE_STORE); {"domain":[],"user":[],"alias":[],"relay":[]}
//   call log  /data/fake-mailu-calls.jsonl      (MAILU_FAKE_LOG); {"argv":[...],"status":N,"stdin":"..."|null}
//   fail hook /data/fake-mailu-fail             (MAILU_FAKE_FAIL); see runImport
//
// Errors are written as click writes them: usage errors exit 2 with the usage on stderr,
// a ClickException exits 1 with `Error: <message>`.

/// A command's end other than success: what goes to stderr (or stdout for help) and the status.
struct CommandFailure: Error, Sendable {
    var message: String
    var status: Int32
    var toStdout = false

    /// A click.ClickException: `Error: message`, status 1.
    static func click(_ message: String) -> CommandFailure { CommandFailure(message: "Error: " + message, status: 1) }

    /// A click.UsageError: the usage, a hint, `Error: message`, status 2.
    static func usage(_ command: Command?, _ message: String) -> CommandFailure {
        let name = command.map { "flask mailu \($0.name)" } ?? "flask mailu"
        return CommandFailure(
            message: "Usage: \(name) \(command?.usage ?? "[OPTIONS] COMMAND [ARGS]...")\n"
                + "Try '\(name) -?' for help.\n\nError: \(message)", status: 2)
    }
}

/// One option of a command, as click declares it.
struct Option: Sendable {
    let short: Character?
    let long: String
    var takesValue = false
    let help: String
}

/// A subcommand: its options and how many arguments it takes.
struct Command: Sendable {
    let name: String
    let usage: String
    let summary: String
    let options: [Option]
    /// Names of required arguments (admin's LOCALPART ...); nil for any number (FILTER...).
    let arguments: [String]?
    /// At most this many arguments when `arguments` is nil.
    var maximumArguments = Int.max

    static let admin = Command(
        name: "admin", usage: "[OPTIONS] LOCALPART DOMAIN_NAME PASSWORD", summary: "Create an admin user",
        options: [Option(short: "m", long: "mode", takesValue: true, help: "create (default), update or ifmissing")],
        arguments: ["LOCALPART", "DOMAIN_NAME", "PASSWORD"])
    static let configExport = Command(
        name: "config-export", usage: "[OPTIONS] [FILTER]...",
        summary: "Export configuration as YAML or JSON to stdout or file",
        options: [
            Option(short: "f", long: "full", help: "Include attributes with default value."),
            Option(short: "s", long: "secrets", help: "Include secret attributes (dkim-key, passwords)."),
            Option(short: "d", long: "dns", help: "Include dns records. (not in the fake)"),
            Option(short: "c", long: "color", help: "Force colorized output. (ignored by the fake)"),
            Option(short: "o", long: "output-file", takesValue: true, help: "Save configuration to file."),
            Option(short: "j", long: "json", help: "Export configuration in json format. (the fake needs it)"),
        ], arguments: nil)
    static let configImport = Command(
        name: "config-import", usage: "[OPTIONS] [FILENAME|-]",
        summary: "Import configuration as YAML or JSON from stdin or file (the fake reads JSON only)",
        options: [
            Option(short: "v", long: "verbose", help: "Increase verbosity."),
            Option(short: "s", long: "secrets", help: "Show secret attributes in messages."),
            Option(short: "d", long: "debug", help: "Enable debug output."),
            Option(short: "q", long: "quiet", help: "Quiet mode - only show errors."),
            Option(short: "c", long: "color", help: "Force colorized output."),
            Option(short: "u", long: "update", help: "Update mode - merge input with existing config."),
            Option(short: "n", long: "dry-run", help: "Perform a trial run with no changes made."),
        ], arguments: nil, maximumArguments: 1)
    static let all = [admin, configExport, configImport]

    var help: String {
        let rows = options.map { option in
            let flags =
                (option.short.map { "-\($0), " } ?? "") + "--\(option.long)" + (option.takesValue ? " TEXT" : "")
            return "  " + padded(flags, 24) + option.help
        }
        return
            (["Usage: flask mailu \(name) \(usage)", "", "  \(summary) (mailu-admin-fake)", "", "Options:"] + rows
            + ["  -?, -h, --help          Show this message and exit."]).joined(separator: "\n")
    }
}

/// Options and arguments parsed as click does: options anywhere, `--opt=value`, `-ovalue`,
/// clustered short flags (`-nv`), `--` ends options, a lone `-` is an argument.
struct Parsed {
    var counts: [String: Int] = [:]
    var values: [String: String] = [:]
    var arguments: [String] = []

    func flag(_ long: String) -> Bool { (counts[long] ?? 0) > 0 }

    init(_ words: [String], command: Command) throws {
        var index = 0
        var optionsEnded = false
        func take(_ option: Option, inline: String?) throws {
            if option.takesValue {
                if let inline {
                    values[option.long] = inline
                } else if index < words.count {
                    values[option.long] = words[index]
                    index += 1
                } else {
                    throw CommandFailure.usage(
                        command, "Option '\(option.short.map { "-\($0)" } ?? "--" + option.long)' requires an argument."
                    )
                }
            } else {
                counts[option.long, default: 0] += 1
            }
        }
        while index < words.count {
            let word = words[index]
            index += 1
            if optionsEnded || word == "-" || !word.hasPrefix("-") {
                arguments.append(word)
            } else if word == "--" {
                optionsEnded = true
            } else if ["-?", "-h", "--help"].contains(word) {
                throw CommandFailure(message: command.help, status: 0, toStdout: true)
            } else if word.hasPrefix("--") {
                let body = word.dropFirst(2)
                let name = String(body.prefix { $0 != "=" })
                let inline = body.contains("=") ? String(body.drop { $0 != "=" }.dropFirst()) : nil
                guard let option = command.options.first(where: { $0.long == name }) else {
                    throw CommandFailure.usage(command, "No such option: --\(name)")
                }
                if inline != nil, !option.takesValue {
                    throw CommandFailure.usage(command, "Option '--\(name)' does not take a value.")
                }
                try take(option, inline: inline)
            } else {
                var rest = Substring(word.dropFirst())
                while let letter = rest.first {
                    rest = rest.dropFirst()
                    guard let option = command.options.first(where: { $0.short == letter }) else {
                        throw CommandFailure.usage(command, "No such option: -\(letter)")
                    }
                    if option.takesValue {
                        try take(option, inline: rest.isEmpty ? nil : String(rest))
                        break
                    }
                    try take(option, inline: nil)
                }
            }
        }
        if let names = command.arguments {
            if arguments.count < names.count {
                throw CommandFailure.usage(command, "Missing argument '\(names[arguments.count])'.")
            }
            if arguments.count > names.count {
                throw CommandFailure.usage(command, "Got unexpected extra argument (\(arguments[names.count]))")
            }
        } else if arguments.count > command.maximumArguments {
            throw CommandFailure.usage(
                command, "Got unexpected extra argument (\(arguments[command.maximumArguments]))")
        }
    }
}

enum Paths {
    static let environment = ProcessInfo.processInfo.environment
    static let store = environment["MAILU_FAKE_STORE"] ?? "/data/fake-mailu.json"
    static let log = environment["MAILU_FAKE_LOG"] ?? "/data/fake-mailu-calls.jsonl"
    static let failHook = environment["MAILU_FAKE_FAIL"] ?? "/data/fake-mailu-fail"
}

/// The JSON store: read (created empty on first use), written atomically (temp + rename).
enum StoreFile {
    static func read() throws -> Store {
        guard FileManager.default.fileExists(atPath: Paths.store) else {
            try write(.empty)
            return .empty
        }
        do {
            return try Store(json: JSON.parse(try Data(contentsOf: URL(fileURLWithPath: Paths.store))))
        } catch let error as JSONError {
            throw CommandFailure.click("[FakeStoreError] \(Paths.store): \(error.message)")
        } catch {
            throw CommandFailure.click("[FakeStoreError] \(Paths.store): \(error)")
        }
    }

    static func write(_ store: Store) throws {
        let temporary = Paths.store + ".tmp-\(getpid())"
        do {
            try Data((store.json.text + "\n").utf8).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, Paths.store) == 0 else {
                throw CommandFailure.click(
                    "[FakeStoreError] rename to \(Paths.store): \(String(cString: strerror(errno)))")
            }
        } catch let failure as CommandFailure {
            unlink(temporary)
            throw failure
        } catch {
            unlink(temporary)
            throw CommandFailure.click("[FakeStoreError] \(Paths.store): \(error)")
        }
    }
}

/// What one invocation read from stdin, for the call log.
nonisolated(unsafe) var stdinText: String?

func readStdin() -> Data {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if count < 0, errno == EINTR { continue }
        guard count > 0 else { break }
        bytes += buffer[0..<count]
    }
    stdinText = String(decoding: bytes, as: UTF8.self)
    return Data(bytes)
}

func writeAll(_ descriptor: Int32, _ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if count < 0, errno == EINTR { continue }
        guard count > 0 else { return }
        bytes = bytes.dropFirst(count)
    }
}

func padded(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

func trimmed<S: StringProtocol>(_ text: S) -> String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
    return String(text.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
}

func runAdmin(_ parsed: Parsed) throws -> String {
    let mode = parsed.values["mode"] ?? "create"
    guard ["create", "update", "ifmissing"].contains(mode) else {
        throw CommandFailure.click("invalid mode: \(pythonRepr(mode))")
    }
    let (localpart, domain, password) = (parsed.arguments[0], parsed.arguments[1].lowercased(), parsed.arguments[2])
    let email = "\(localpart)@\(domain)".lowercased()
    var store = try StoreFile.read()
    if store.sections["domain"]![domain] == nil {
        store.sections["domain"]![domain] = Section.domain.defaults(key: domain)
    }
    let message: String
    if store.sections["user"]![email] != nil {
        switch mode {
        case "ifmissing": return "user \(pythonRepr(email)) exists, not updating"
        case "update":
            store.sections["user"]![email]!["password"] = .string(fakeHash(password))
            message = "updated admin password"
        default: throw CommandFailure.click("user \(pythonRepr(email)) exists, not created")
        }
    } else {
        var user = Section.user.defaults(key: email)
        user["global_admin"] = .bool(true)
        user["password"] = .string(fakeHash(password))
        store.sections["user"]![email] = user
        message = "created admin user"
    }
    try StoreFile.write(store)
    return message
}

func runExport(_ parsed: Parsed) throws -> String? {
    if parsed.flag("dns") { throw CommandFailure.usage(.configExport, "mailu-admin-fake does not do --dns.") }
    // Without --json Mailu prints YAML; the fake writes JSON only and says so.
    guard parsed.flag("json") else {
        throw CommandFailure.usage(.configExport, "mailu-admin-fake exports JSON only: add --json (Mailu prints YAML).")
    }
    let exporter = Exporter(full: parsed.flag("full"), secrets: parsed.flag("secrets"), filters: parsed.arguments)
    let text = try exporter.export(try StoreFile.read()).text
    guard let output = parsed.values["output-file"], output != "-" else { return text }
    let previous = umask(0o077)
    defer { umask(previous) }
    guard FileManager.default.createFile(atPath: output, contents: Data((text + "\n").utf8)) else {
        throw CommandFailure.usage(
            .configExport, "Invalid value for '-o' / '--output-file': \(pythonRepr(output)): cannot write")
    }
    return nil
}

func runImport(_ parsed: Parsed) throws -> String? {
    let source = parsed.arguments.first ?? "-"
    let data: Data
    if source == "-" {
        data = readStdin()
    } else {
        guard let contents = FileManager.default.contents(atPath: source) else {
            throw CommandFailure.usage(
                .configImport, "Invalid value for '[FILENAME|-]': \(pythonRepr(source)): No such file or directory")
        }
        data = contents
    }
    // Test hook of the fake (no Mailu has it): while this file exists, config-import fails
    // with its content on stderr and changes nothing.
    if let failure = FileManager.default.contents(atPath: Paths.failHook) {
        var text = String(decoding: failure, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        throw CommandFailure(message: text, status: 1)
    }
    let input: JSON
    do {
        input = try JSON.parse(data)
    } catch let error as JSONError {
        // Mailu reads YAML (and so JSON); the fake parses JSON only, which is what Mailroom sends.
        throw CommandFailure.click(
            "[FakeInputError] mailu-admin-fake reads JSON only, and this is not JSON: \(error.message)")
    }
    let before = try StoreFile.read()
    var importer = Importer(store: before, update: parsed.flag("update"))
    try importer.load(input)
    let (summary, lines) = changeSummary(from: before, to: importer.store)
    let dryRun = parsed.flag("dry-run")
    if !dryRun { try StoreFile.write(importer.store) }
    guard !parsed.flag("quiet") else { return nil }
    let verbose = (parsed.counts["verbose"] ?? 0) > 0 ? lines : []
    return (verbose + [(dryRun ? "Dry run. Not committing changes. " : "Committing changes. ") + summary])
        .joined(separator: "\n")
}

/// Runs `flask mailu <command> ...` (argv[0] is `flask` or whatever this binary is called).
func run(_ argv: [String]) -> (status: Int32, stdout: String?, stderr: String?) {
    do {
        let words = Array(argv.dropFirst())
        guard words.first == "mailu" else {
            throw CommandFailure(
                message:
                    "Usage: flask [OPTIONS] COMMAND [ARGS]...\n\nError: mailu-admin-fake knows only 'flask mailu'.",
                status: 2)
        }
        guard let name = words.dropFirst().first, !["-?", "-h", "--help"].contains(name) else {
            let list = Command.all.map { "  " + padded($0.name, 15) + $0.summary }
            let help = [
                "Usage: flask mailu [OPTIONS] COMMAND [ARGS]...", "", "  Mailu command line (mailu-admin-fake)", "",
                "Commands:",
            ]
            return (0, (help + list).joined(separator: "\n"), nil)
        }
        guard let command = Command.all.first(where: { $0.name == name }) else {
            throw CommandFailure.usage(
                nil, "No such command '\(name)'. (mailu-admin-fake knows admin, config-export, config-import)")
        }
        let parsed = try Parsed(Array(words.dropFirst(2)), command: command)
        let lock = open(Paths.store + ".lock", O_CREAT | O_RDWR, 0o600)
        if lock >= 0 { flock(lock, LOCK_EX) }
        defer { if lock >= 0 { close(lock) } }
        switch command.name {
        case "admin": return (0, try runAdmin(parsed), nil)
        case "config-export": return (0, try runExport(parsed), nil)
        default: return (0, try runImport(parsed), nil)
        }
    } catch let failure as CommandFailure {
        return failure.toStdout ? (failure.status, failure.message, nil) : (failure.status, nil, failure.message)
    } catch {
        return (1, nil, "Error: \(error)")
    }
}

/// Appends one line to the call log; a log that cannot be written is reported, not fatal.
func logCall(argv: [String], status: Int32) {
    let line: JSON = .object([
        "argv": .array(argv.map(JSON.string)), "stdin": stdinText.map(JSON.string) ?? .null,
        "status": .int(Int64(status)),
    ])
    let bytes = Array((line.text + "\n").utf8)
    let descriptor = open(Paths.log, O_WRONLY | O_APPEND | O_CREAT, 0o644)
    guard descriptor >= 0 else {
        writeAll(2, "mailu-admin-fake: cannot write the call log \(Paths.log)\n")
        return
    }
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    close(descriptor)
}

let result = run(CommandLine.arguments)
if let out = result.stdout { writeAll(1, out + "\n") }
if let err = result.stderr { writeAll(2, err + "\n") }
logCall(argv: CommandLine.arguments, status: result.status)
exit(result.status)
