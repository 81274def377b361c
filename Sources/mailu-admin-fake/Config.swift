import FoundationEssentials

// The configuration model of Mailu 2.0 as `config-export`/`config-import` see it
// (core/admin/mailu/models.py and schemas.py, branch 2.0), over a JSON store instead of the
// database. Only the sections domain, user, alias and relay, as in the real MailuSchema.

/// How a field is read from an import and compared with its default on export.
enum FieldKind: Sendable {
    case string, nullableString, comment, bool, int, date, password, dkimKey
    /// A list of names (alternatives, manager_of): lists merge in update mode.
    case names
    /// A list of addresses, also read from a comma-separated string (destination, forward_destination).
    case addresses
    /// tokens and fetches: the fake keeps them empty.
    case unsupportedList
}

struct Field: Sendable {
    let name: String
    let kind: FieldKind
    /// The model's default; nil when it has none (password), so resetting it is refused.
    let defaultValue: JSON?
    /// Exported without `--full` even when it equals the default. spam_threshold's default is
    /// a callable in the model, which never compares equal, so Mailu 2.0 always exports it.
    var alwaysExported = false
}

struct Section: Sendable {
    let name: String
    /// The primary key: `name` or `email`.
    let key: String
    let fields: [Field]

    func field(_ name: String) -> Field? { fields.first { $0.name == name } }

    /// A new object: every field at its default.
    func defaults(key value: String) -> [String: JSON] {
        var object: [String: JSON] = [key: .string(value)]
        for field in fields { object[field.name] = field.defaultValue ?? .null }
        return object
    }

    static let domain = Section(
        name: "domain", key: "name",
        fields: [
            Field(name: "alternatives", kind: .names, defaultValue: .array([])),
            Field(name: "comment", kind: .comment, defaultValue: .string("")),
            Field(name: "dkim_key", kind: .dkimKey, defaultValue: .string(""), alwaysExported: true),
            Field(name: "max_aliases", kind: .int, defaultValue: .int(-1)),
            Field(name: "max_quota_bytes", kind: .int, defaultValue: .int(0)),
            Field(name: "max_users", kind: .int, defaultValue: .int(-1)),
            Field(name: "signup_enabled", kind: .bool, defaultValue: .bool(false)),
        ])
    static let user = Section(
        name: "user", key: "email",
        fields: [
            Field(name: "allow_spoofing", kind: .bool, defaultValue: .bool(false)),
            Field(name: "comment", kind: .comment, defaultValue: .string("")),
            Field(name: "displayed_name", kind: .string, defaultValue: .string("")),
            Field(name: "enable_imap", kind: .bool, defaultValue: .bool(true)),
            Field(name: "enable_pop", kind: .bool, defaultValue: .bool(true)),
            Field(name: "enabled", kind: .bool, defaultValue: .bool(true)),
            Field(name: "fetches", kind: .unsupportedList, defaultValue: .array([])),
            Field(name: "forward_destination", kind: .addresses, defaultValue: .array([])),
            Field(name: "forward_enabled", kind: .bool, defaultValue: .bool(false)),
            Field(name: "forward_keep", kind: .bool, defaultValue: .bool(true)),
            Field(name: "global_admin", kind: .bool, defaultValue: .bool(false)),
            Field(name: "manager_of", kind: .names, defaultValue: .array([])),
            Field(name: "password", kind: .password, defaultValue: nil),
            Field(name: "quota_bytes", kind: .int, defaultValue: .int(1_000_000_000)),
            Field(name: "reply_body", kind: .nullableString, defaultValue: .null),
            Field(name: "reply_enabled", kind: .bool, defaultValue: .bool(false)),
            Field(name: "reply_enddate", kind: .date, defaultValue: .string("2999-12-31")),
            Field(name: "reply_startdate", kind: .date, defaultValue: .string("1900-01-01")),
            Field(name: "reply_subject", kind: .nullableString, defaultValue: .null),
            Field(name: "spam_enabled", kind: .bool, defaultValue: .bool(true)),
            Field(name: "spam_mark_as_read", kind: .bool, defaultValue: .bool(true)),
            Field(name: "spam_threshold", kind: .int, defaultValue: .int(80), alwaysExported: true),
            Field(name: "tokens", kind: .unsupportedList, defaultValue: .array([])),
        ])
    static let alias = Section(
        name: "alias", key: "email",
        fields: [
            Field(name: "comment", kind: .comment, defaultValue: .string("")),
            Field(name: "destination", kind: .addresses, defaultValue: .array([])),
            Field(name: "wildcard", kind: .bool, defaultValue: .bool(false)),
        ])
    static let relay = Section(
        name: "relay", key: "name",
        fields: [
            Field(name: "comment", kind: .comment, defaultValue: .string("")),
            Field(name: "smtp", kind: .nullableString, defaultValue: .null),
        ])

    /// MailuSchema.Meta.order: the order of export and of import.
    static let all = [domain, user, alias, relay]
}

/// The password schemes Mailu strips from the front of a hash (schemas.PasswordField._hashes).
let knownSchemes = ["PBKDF2", "BLF-CRYPT", "SHA512-CRYPT", "SHA256-CRYPT", "MD5-CRYPT", "CRYPT"]

/// The fake's own "hash" of a plaintext password: `{FAKE-SHA256}` and the hex SHA-256. Mailu
/// would store a bcrypt_sha256 hash; the fake only needs something recognisable and stable.
func fakeHash(_ plaintext: String) -> String { "{FAKE-SHA256}" + SHA256.hex(Array(plaintext.utf8)) }

/// Mailu strips a known `{SCHEME}` prefix (on import and export).
func strippingScheme(_ value: String) -> String {
    guard value.hasPrefix("{"), let end = value.firstIndex(of: "}") else { return value }
    let scheme = String(value[value.index(after: value.startIndex)..<end])
    return knownSchemes.contains(scheme) ? String(value[value.index(after: end)...]) : value
}

/// Whether passlib would identify `hash` (after the scheme is stripped), approximated by the
/// modular-crypt identifiers of the schemes Mailu's docs name, plus the fake's own form.
func looksLikeHash(_ hash: String) -> Bool {
    if hash.hasPrefix("{FAKE-SHA256}") {
        let hex = hash.dropFirst("{FAKE-SHA256}".count)
        return hex.count == 64 && hex.allSatisfy { $0.isHexDigit }
    }
    let identifiers = [
        "$1$", "$2$", "$2a$", "$2b$", "$2x$", "$2y$", "$5$", "$6$", "$apr1$", "$md5$", "$sha1$", "$bcrypt-sha256$",
        "$pbkdf2$", "$pbkdf2-sha256$", "$pbkdf2-sha512$", "$argon2i$", "$argon2d$", "$argon2id$",
    ]
    return identifiers.contains { hash.hasPrefix($0) && hash.count > $0.count + 1 }
}

/// The whole store: section name → primary key → object with every field.
struct Store: Equatable, Sendable {
    var sections: [String: [String: [String: JSON]]] = ["domain": [:], "user": [:], "alias": [:], "relay": [:]]

    static let empty = Store()

    init() {}

    init(json: JSON) throws {
        guard let top = json.object else { throw JSONError(message: "the store is not a JSON object") }
        for section in Section.all {
            for item in top[section.name]?.array ?? [] {
                guard var object = item.object, let key = object[section.key]?.string else {
                    throw JSONError(message: "a \(section.name) in the store has no \(section.key)")
                }
                // Fields added to the fake later get their defaults.
                for field in section.fields where object[field.name] == nil { object[field.name] = field.defaultValue }
                sections[section.name, default: [:]][key] = object
            }
        }
    }

    /// Every object with every field, sorted by key.
    var json: JSON {
        var top: [String: JSON] = [:]
        for section in Section.all {
            let objects = sections[section.name] ?? [:]
            top[section.name] = .array(objects.keys.sorted().map { .object(objects[$0]!) })
        }
        return .object(top)
    }

    static func domainName(ofEmail email: String) -> String? {
        guard let at = email.lastIndex(of: "@") else { return nil }
        return String(email[email.index(after: at)...])
    }

    /// Removes a domain with what the database cascades: its users, aliases and alternatives
    /// (alternatives live inside the domain object here) and its managers.
    mutating func deleteDomain(_ name: String) {
        sections["domain"]![name] = nil
        for section in ["user", "alias"] {
            for key in sections[section]!.keys where Store.domainName(ofEmail: key) == name {
                sections[section]![key] = nil
            }
        }
        for (email, user) in sections["user"]! {
            if case .array(let domains) = user["manager_of"] ?? .null, domains.contains(.string(name)) {
                sections["user"]![email]!["manager_of"] = .array(domains.filter { $0 != .string(name) })
            }
        }
    }

    mutating func delete(_ key: String, in section: String) {
        if section == "domain" {
            deleteDomain(key)
        } else {
            sections[section]![key] = nil
        }
    }
}

/// `config-export`: Mailu's MailuSchema dump with its context (full, secrets) and filters.
struct Exporter {
    var full = false
    var secrets = false
    /// FILTER arguments: `user` or `user.email`.
    var filters: [String] = []

    func export(_ store: Store) throws -> JSON {
        var sectionFilters: [String: Set<String>?] = [:]
        for filter in filters {
            let parts = filter.split(separator: ".", maxSplits: 1).map(String.init)
            guard let section = Section.all.first(where: { $0.name == parts.first }) else {
                throw CommandFailure.click("Invalid filter: \(filter)")
            }
            if parts.count == 1 {
                sectionFilters[section.name] = .some(nil)
            } else {
                guard parts[1] == section.key || section.field(parts[1]) != nil else {
                    throw CommandFailure.click("Invalid filter: \(filter)")
                }
                if case .some(.none) = sectionFilters[section.name] { continue }
                var fields = (sectionFilters[section.name] ?? nil) ?? []
                fields.insert(parts[1])
                sectionFilters[section.name] = .some(fields)
            }
        }
        var top: [String: JSON] = [:]
        for section in Section.all where filters.isEmpty || sectionFilters[section.name] != nil {
            let only = sectionFilters[section.name] ?? nil
            let objects = store.sections[section.name] ?? [:]
            top[section.name] = .array(
                objects.keys.sorted().map { .object(exported(objects[$0]!, section: section, only: only)) })
        }
        return .object(top)
    }

    private func exported(_ object: [String: JSON], section: Section, only: Set<String>?) -> [String: JSON] {
        var out: [String: JSON] = [:]
        if only == nil || only!.contains(section.key) { out[section.key] = object[section.key] }
        for field in section.fields {
            let named = only?.contains(field.name) ?? false
            guard only == nil || named else { continue }
            var value = object[field.name] ?? field.defaultValue ?? .null
            if field.kind == .password, let hash = value.string { value = .string(strippingScheme(hash)) }
            if field.kind == .comment, value == .null { value = .string("") }
            // Mailu shows a domain's dkim_key as <hidden> (also when there is none) unless --secrets.
            if field.kind == .dkimKey, !secrets, !named { value = .string("<hidden>") }
            let isDefault = field.defaultValue != nil && value == field.defaultValue && !field.alwaysExported
            if full || named || !isDefault { out[field.name] = value }
        }
        return out
    }
}
