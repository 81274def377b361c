import ArgumentParser
import Foundation
import MailroomMailu
import MailroomSupport

struct DKIMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dkim",
        abstract: "Show each mail domain's DKIM key and the DNS record it needs, or replace a key.",
        discussion: """
            apply creates a missing key (RSA-2048, mode 0600) and never replaces one.
            Replacing a key is this command's job only.
            Example:
              mailroom dkim examples/seed-guide
              mailroom dkim rotate example.com examples/seed-guide
            """,
        subcommands: [DKIMShow.self, DKIMRotate.self],
        defaultSubcommand: DKIMShow.self)
}

struct DKIMShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Each domain's DKIM key file and its TXT record (one string, and split for zone files).",
        discussion: """
            Exit status: 0 every key exists, 1 some key is not created yet (apply
            creates it).
            Example:
              mailroom dkim show examples/seed-guide --output json
            """)

    @OptionGroup var spec: SpecOptions
    @OptionGroup var state: StateOptions
    @Option(help: "Output format: text or json.") var output: OutputFormat = .text

    struct Entry: Encodable {
        var domain: String
        var selector: String
        var keyFile: String
        var created: Bool
        var record: TXTRecord?
        var problem: String?
    }

    func run() async throws {
        let settings = try await mailuSettings(spec: spec, state: state)
        let entries = MailuDKIM.keys(settings).map { key -> Entry in
            var entry = Entry(
                domain: key.domain, selector: key.selector, keyFile: key.path, created: false, record: nil,
                problem: nil)
            guard FileManager.default.fileExists(atPath: key.path) else {
                entry.problem = "key not created yet: apply creates it"
                return entry
            }
            do {
                let publicKey = try RSAKeyFile.publicKeyBase64(at: key.path)
                entry.created = true
                entry.record = MailuDKIM.record(domain: key.domain, selector: key.selector, publicKey: publicKey)
            } catch {
                entry.problem = "\(error)"
            }
            return entry
        }
        if output == .json {
            try printJSON(entries)
        } else {
            for entry in entries {
                print("\(entry.domain)  selector \(entry.selector)  \(entry.keyFile)")
                if let record = entry.record {
                    print("  \(record.name) TXT \"\(record.value)\"")
                    print("  zone file: \(record.zoneLine)")
                } else {
                    print("  \(entry.problem ?? "")")
                }
            }
        }
        if entries.contains(where: { !$0.created }) { throw ExitCode(1) }
    }
}

struct DKIMRotate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Replace a domain's DKIM key in two steps: prepare a new key, then activate it.",
        discussion: """
            Mailu signs every domain with one selector, so old and new key cannot be
            published side by side. The first run prepares <key>.next and prints its
            record: publish it in DNS. Once the record is visible, run again with
            --activate: the new key replaces the old (kept as <key>.old). Mailu's admin
            reads the key file when rspamd asks for it; restart mailu-antispam
            afterwards so rspamd signs with the new key at once.
            Example:
              mailroom dkim rotate example.com examples/seed-guide
              mailroom dkim rotate example.com examples/seed-guide --activate
            """)

    @Argument(help: "The mail domain whose key to replace.") var domain: String
    @OptionGroup var spec: SpecOptions
    @OptionGroup var state: StateOptions
    @Flag(help: "Put the prepared key in place of the current one.") var activate = false

    func run() async throws {
        let settings = try await mailuSettings(spec: spec, state: state)
        guard let key = MailuDKIM.keys(settings).first(where: { $0.domain == domain.lowercased() }) else {
            FileHandle.standardError.write(
                Data("mailroom: \(domain) is not a mail domain of the spec (domains: \(settings.domains))\n".utf8))
            throw ExitCode(1)
        }
        let next = key.path + ".next"
        if activate {
            guard FileManager.default.fileExists(atPath: next) else {
                FileHandle.standardError.write(
                    Data("mailroom: no prepared key at \(next); run without --activate first\n".utf8))
                throw ExitCode(1)
            }
            if FileManager.default.fileExists(atPath: key.path) {
                try AtomicFile.write(
                    FileManager.default.contents(atPath: key.path) ?? Data(), to: key.path + ".old", mode: 0o600)
            }
            guard rename(next, key.path) == 0 else {
                FileHandle.standardError.write(Data("mailroom: cannot move \(next) to \(key.path)\n".utf8))
                throw ExitCode(1)
            }
            print("\(key.path): the new key is in place (the previous one is kept as \(key.path).old).")
            print("Restart mailu-antispam (podman container restart mailu-antispam) so rspamd signs with it now.")
            return
        }
        let created = try RSAKeyFile.create(at: next)
        let record = MailuDKIM.record(
            domain: key.domain, selector: key.selector, publicKey: try RSAKeyFile.publicKeyBase64(at: next))
        print(created ? "Prepared a new key: \(next)" : "A key was already prepared: \(next)")
        print("1. Publish this record in place of the current one:")
        print("   \(record.zoneLine)")
        print("2. Once it is visible (dig TXT \(record.name)), activate the key:")
        print("   mailroom dkim rotate \(key.domain) --activate  (with the same spec arguments)")
    }
}

/// The Mailu settings of a spec, compiled without the host's secrets.
func mailuSettings(spec: SpecOptions, state: StateOptions) async throws -> MailuSettings {
    let (_, loaded) = try await spec.load(state: state)
    do {
        let compiled = try state.pipeline(hostName: spec.hostName).compileDeployment(loaded.text)
        guard let settings = MailuSettings.of(compiled.spec) else { throw ExitCode(1) }
        return settings
    } catch let error as SpecError {
        throw reportSpecError(error)
    }
}
