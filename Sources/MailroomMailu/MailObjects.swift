import Crypto
import MailroomSpec
import MailroomSupport

/// The `mail:` section: Mailu's own objects (the first admin, domain settings, users, aliases,
/// relays), applied through `flask mailu config-import --update` in the admin container.
/// Every domain of `domains:` is a Mailu domain whether or not it has settings here.
public struct MailSettings: Sendable, Equatable, Codable {
    public var admin: Admin?
    public var domains: [Domain] = []
    public var users: [User] = []
    public var aliases: [Alias] = []
    public var relays: [Relay] = []
    /// Deleting a user (or a domain) deletes its mail: only with this set.
    public var deleteMailboxes = false
    public var location: SourceLocation?

    public init() {}

    /// Created on the first deploy when missing, never changed afterwards.
    public struct Admin: Sendable, Equatable, Codable {
        public var address: String
        public var passwordSecret: String
        public var location: SourceLocation
    }

    public struct Domain: Sendable, Equatable, Codable {
        public var name: String
        /// Mailu field name → value, only what is written.
        public var fields: [String: ObjectValue]
        public var location: SourceLocation
    }

    public struct User: Sendable, Equatable, Codable {
        public var address: String
        public var fields: [String: ObjectValue]
        public var password: Password?
        public var location: SourceLocation
    }

    /// A password from git (a hash Mailu accepts) or from the secrets file (hashed by Mailu).
    public enum Password: Sendable, Equatable, Codable {
        case hash(String)
        case secret(String)
    }

    public struct Alias: Sendable, Equatable, Codable {
        public var address: String
        public var fields: [String: ObjectValue]
        public var location: SourceLocation
    }

    public struct Relay: Sendable, Equatable, Codable {
        public var name: String
        public var fields: [String: ObjectValue]
        public var location: SourceLocation
    }

    /// The secrets-file keys the section names.
    var secretKeys: [String] {
        var keys: [String] = []
        if let admin { keys.append(admin.passwordSecret) }
        for user in users {
            if case .secret(let key) = user.password, !keys.contains(key) { keys.append(key) }
        }
        return keys
    }

    /// The password schemes Mailu 2.0 accepts in an import (`models.User.scheme_dict`).
    static let passwordSchemes = ["BLF-CRYPT", "SHA512-CRYPT", "SHA256-CRYPT", "MD5-CRYPT", "CRYPT", "PBKDF2"]
}

// MARK: - Reading

extension MailSettings {
    static let keys = ["admin", "domains", "users", "aliases", "relays", "delete_mailboxes"]

    /// Reads `mail:`; values are checked against the rest of the spec in ``check(_:_:)``.
    static func read(_ node: SpecNode?, _ d: inout DiagnosticCollector) -> MailSettings {
        var s = MailSettings()
        guard let node, !node.isNull, let m = node.mapping(allowed: keys, &d) else { return s }
        s.location = node.location
        if let n = m["delete_mailboxes"], let v = n.bool(&d) { s.deleteMailboxes = v }
        if let n = m["admin"], let a = n.mapping(allowed: ["address", "password_secret"], &d) {
            let address = a.required("address", &d, hint: "e.g. admin@example.com")?.string(&d)
            let secret = a.required(
                "password_secret", &d, hint: "the key of its password in the secrets file, e.g. MAILU_ADMIN_PASSWORD")
            if let address, let secretNode = secret, let key = secretNode.string(&d) {
                checkSecretKey(key, secretNode, &d)
                s.admin = Admin(address: address.lowercased(), passwordSecret: key, location: n.location)
            }
        }
        if let n = m["domains"], !n.isNull, let entries = n.freeMapping(&d) {
            for entry in entries {
                s.domains.append(
                    Domain(
                        name: entry.key.lowercased(), fields: readFields(entry.value, domainFields, &d),
                        location: entry.keyLocation))
            }
        }
        if let n = m["users"], !n.isNull, let entries = n.freeMapping(&d) {
            for entry in entries {
                var user = User(address: entry.key.lowercased(), fields: [:], location: entry.keyLocation)
                if entry.value.isNull {
                    readPassword(nil, user.address, at: entry.value, &d)
                } else if let fields = entry.value.mapping(
                    allowed: userFields.map(\.key) + ["password", "password_secret"], &d)
                {
                    user.fields = readFields(fields, userFields, &d)
                    user.password = readPassword(fields, user.address, at: entry.value, &d)
                }
                s.users.append(user)
            }
        }
        if let n = m["aliases"], !n.isNull, let entries = n.freeMapping(&d) {
            for entry in entries {
                var alias = Alias(address: entry.key.lowercased(), fields: [:], location: entry.keyLocation)
                if entry.value.isList {
                    // The short form: the address and its destinations.
                    alias.fields["destination"] = addressList(entry.value, &d)
                } else {
                    alias.fields = readFields(entry.value, aliasFields, &d)
                }
                s.aliases.append(alias)
            }
        }
        if let n = m["relays"], !n.isNull, let entries = n.freeMapping(&d) {
            for entry in entries {
                var relay = Relay(name: entry.key.lowercased(), fields: [:], location: entry.keyLocation)
                if entry.value.isScalar, let smtp = entry.value.string(&d) {
                    // The short form: the relayed domain and where its mail goes.
                    relay.fields["smtp"] = .string(smtp)
                } else {
                    relay.fields = readFields(entry.value, relayFields, &d)
                }
                s.relays.append(relay)
            }
        }
        return s
    }

    /// A spec key, the Mailu field it sets, and how to read its value.
    struct Field {
        var key: String
        var mailu: String
        var value: Value
        enum Value { case text, bool, count, bytes, domains, addresses }
    }

    static let domainFields = [
        Field(key: "alternatives", mailu: "alternatives", value: .domains),
        Field(key: "max_users", mailu: "max_users", value: .count),
        Field(key: "max_aliases", mailu: "max_aliases", value: .count),
        Field(key: "max_quota", mailu: "max_quota_bytes", value: .bytes),
        Field(key: "signup", mailu: "signup_enabled", value: .bool),
        Field(key: "comment", mailu: "comment", value: .text),
    ]
    static let userFields = [
        Field(key: "name", mailu: "displayed_name", value: .text),
        Field(key: "quota", mailu: "quota_bytes", value: .bytes),
        Field(key: "enabled", mailu: "enabled", value: .bool),
        Field(key: "admin", mailu: "global_admin", value: .bool),
        Field(key: "manager_of", mailu: "manager_of", value: .domains),
        Field(key: "imap", mailu: "enable_imap", value: .bool),
        Field(key: "pop", mailu: "enable_pop", value: .bool),
        Field(key: "comment", mailu: "comment", value: .text),
    ]
    static let aliasFields = [
        Field(key: "to", mailu: "destination", value: .addresses),
        Field(key: "wildcard", mailu: "wildcard", value: .bool),
        Field(key: "comment", mailu: "comment", value: .text),
    ]
    static let relayFields = [
        Field(key: "smtp", mailu: "smtp", value: .text),
        Field(key: "comment", mailu: "comment", value: .text),
    ]

    static func readFields(_ node: SpecNode, _ fields: [Field], _ d: inout DiagnosticCollector) -> [String: ObjectValue]
    {
        guard !node.isNull, let m = node.mapping(allowed: fields.map(\.key), &d) else { return [:] }
        return readFields(m, fields, &d)
    }

    static func readFields(_ m: MappingReader, _ fields: [Field], _ d: inout DiagnosticCollector)
        -> [String: ObjectValue]
    {
        var values: [String: ObjectValue] = [:]
        for field in fields {
            guard let n = m[field.key] else { continue }
            switch field.value {
            case .text:
                if let v = n.string(&d) {
                    Validator.checkEnvValue(v, n.location, n.path, &d)
                    values[field.mailu] = .string(v)
                }
            case .bool:
                if let v = n.bool(&d) { values[field.mailu] = .bool(v) }
            case .count:
                if let v = n.int(&d) {
                    if v < -1 {
                        d.report(
                            .invalidValue, at: n.location, field: n.path, "\(v) is not a limit",
                            hint: "a whole number; -1 means no limit")
                    }
                    values[field.mailu] = .int(v)
                }
            case .bytes:
                if let text = n.string(&d) {
                    if let bytes = Grammar.bytes(text), bytes >= 0 {
                        values[field.mailu] = .int(Int(bytes))
                    } else {
                        d.report(
                            .invalidValue, at: n.location, field: n.path, "'\(text)' is not a size",
                            hint: "bytes, or a number with k, m or g: 1g, 500m; 0 means no limit")
                    }
                }
            case .domains:
                if let list = n.stringList(&d) {
                    for (value, item) in list where !Grammar.isHostname(value, requireDot: true) {
                        d.report(
                            .invalidHostname, at: item.location, field: item.path, "'\(value)' is not a domain",
                            hint: "an RFC 1123 name such as example.com")
                    }
                    refuseRepeats(list, &d)
                    values[field.mailu] = .list(list.map { .string($0.0.lowercased()) }).sorted
                }
            case .addresses:
                values[field.mailu] = addressList(n, &d)
            }
        }
        return values
    }

    /// A list of destination addresses, each checked.
    static func addressList(_ node: SpecNode, _ d: inout DiagnosticCollector) -> ObjectValue {
        guard let list = node.stringList(&d) else { return .list([]) }
        if list.isEmpty {
            d.report(
                .invalidValue, at: node.location, field: node.path, "an alias needs at least one destination",
                hint: "e.g. [alice@example.com]")
        }
        for (value, item) in list where !isAddress(value) {
            d.report(
                .invalidValue, at: item.location, field: item.path, "'\(value)' is not an e-mail address",
                hint: "local@domain, e.g. alice@example.com")
        }
        refuseRepeats(list, &d)
        return ObjectValue.list(list.map { .string($0.0.lowercased()) }).sorted
    }

    /// Mailu keeps these lists as sets: a repeat would be a difference at every plan.
    static func refuseRepeats(_ list: [(String, SpecNode)], _ d: inout DiagnosticCollector) {
        var seen = Set<String>()
        for (value, item) in list where !seen.insert(value.lowercased()).inserted {
            d.report(.duplicateName, at: item.location, field: item.path, "'\(value)' is listed twice")
        }
    }

    @discardableResult
    static func readPassword(_ m: MappingReader?, _ address: String, at node: SpecNode, _ d: inout DiagnosticCollector)
        -> Password?
    {
        let hashNode = m?["password"]
        let secretNode = m?["password_secret"]
        if let hashNode, secretNode != nil {
            d.report(
                .invalidValue, at: hashNode.location, field: hashNode.path,
                "both 'password' and 'password_secret' are set", hint: "keep one")
            return nil
        }
        if let secretNode, let key = secretNode.string(&d) {
            checkSecretKey(key, secretNode, &d)
            return .secret(key)
        }
        if let hashNode, let hash = hashNode.string(&d) {
            let scheme = hash.hasPrefix("{") ? hash.dropFirst().prefix { $0 != "}" } : ""
            guard passwordSchemes.contains(String(scheme)),
                isHash(String(hash.dropFirst(scheme.count + 2)), scheme: String(scheme))
            else {
                // Never echo the value: it may well be a real password.
                d.report(
                    .invalidValue, at: hashNode.location, field: hashNode.path,
                    "this looks like a plain password; a password in git must be a hash",
                    hint:
                        "write a hash Mailu accepts ({BLF-CRYPT}$2b$..., from `doveadm pw -s BLF-CRYPT`), or move the password to the secrets file and write password_secret: KEY"
                )
                return nil
            }
            Validator.checkEnvValue(hash, hashNode.location, hashNode.path, &d)
            return .hash(hash)
        }
        d.report(
            .missingField, at: node.location, field: node.path, "\(address) has no password",
            hint: "add password_secret: KEY (the key in the secrets file) or password: {BLF-CRYPT}...")
        return nil
    }

    /// The shape of a hash of each scheme (Mailu 2.0 does not check it: a plain password behind
    /// a `{SCHEME}` would be stored as the "hash", and end up in git).
    static func isHash(_ text: String, scheme: String) -> Bool {
        let alphabet = Set("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        func crypt(_ prefixes: [String], minimum: Int) -> Bool {
            guard let prefix = prefixes.first(where: text.hasPrefix) else { return false }
            let rest = text.dropFirst(prefix.count).split(separator: "$", omittingEmptySubsequences: false)
            return rest.count >= 2 && rest.last!.count >= minimum
                && rest.allSatisfy { part in part.allSatisfy { alphabet.contains($0) || $0 == "=" } }
        }
        switch scheme {
        case "BLF-CRYPT":
            let parts = text.split(separator: "$", omittingEmptySubsequences: false)
            return parts.count == 4 && ["2a", "2b", "2x", "2y"].contains(parts[1]) && parts[2].count == 2
                && parts[2].allSatisfy(\.isNumber) && parts[3].count == 53 && parts[3].allSatisfy(alphabet.contains)
        case "SHA512-CRYPT": return crypt(["$6$"], minimum: 86)
        case "SHA256-CRYPT": return crypt(["$5$"], minimum: 43)
        case "MD5-CRYPT": return crypt(["$1$"], minimum: 22)
        case "PBKDF2": return crypt(["$pbkdf2-sha512$", "$pbkdf2-sha256$", "$pbkdf2$"], minimum: 20)
        case "CRYPT": return text.count == 13 && text.allSatisfy(alphabet.contains)
        default: return false
        }
    }

    static func checkSecretKey(_ key: String, _ node: SpecNode, _ d: inout DiagnosticCollector) {
        if !SpecLoader.isEnvKey(key) {
            d.report(
                .invalidEnv, at: node.location, field: node.path, "'\(key)' is not a valid secrets-file key",
                hint: "letters, digits and underscores, e.g. ALICE_PASSWORD")
        }
    }

    static func isAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && Grammar.isLocalPart(String(parts[0]))
            && Grammar.isHostname(String(parts[1]), requireDot: true)
    }

    static func domain(of address: String) -> String {
        address.split(separator: "@", omittingEmptySubsequences: false).last.map(String.init) ?? ""
    }
}

// MARK: - Checks against the rest of the spec

extension MailSettings {
    /// Objects must belong to the domains Mailu serves. (`components.admin` only hides the admin
    /// UI; the admin container, which imports them, always runs.)
    func check(_ s: MailuSettings, _ d: inout DiagnosticCollector) {
        guard let location, !isEmpty else { return }
        let domains = Set(s.domains)
        func checkDomain(of address: String, _ at: SourceLocation, _ field: String, wildcard: Bool = false) {
            let local = address.split(separator: "@", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            // Mailu's wildcard aliases are SQL patterns: '%' and '_' in the local part.
            let localOK = Grammar.isLocalPart(wildcard ? local.replacingAll("%", with: "x") : local)
            guard localOK, MailSettings.isAddress(address) || wildcard else {
                d.report(
                    .invalidValue, at: at, field: field, "'\(address)' is not an e-mail address",
                    hint: "local@domain, with the domain listed under domains:")
                return
            }
            let domain = MailSettings.domain(of: address)
            if !domains.contains(domain) {
                d.report(
                    .invalidValue, at: at, field: field, "\(domain) is not one of the mail domains",
                    hint: "add \(domain) to domains:, or fix the address")
            }
        }
        if let admin { checkDomain(of: admin.address, admin.location, "mail.admin.address") }
        var seen = Set<String>()
        for domain in self.domains {
            let field = "mail.domains.\(domain.name)"
            if !domains.contains(domain.name) {
                d.report(
                    .invalidValue, at: domain.location, field: field, "\(domain.name) is not one of the mail domains",
                    hint: "settings are for domains listed under domains:; add it there first")
            }
            if case .list(let alternatives) = domain.fields["alternatives"] {
                for case .string(let name) in alternatives where domains.contains(name) {
                    d.report(
                        .invalidValue, at: domain.location, field: field + ".alternatives",
                        "\(name) is a mail domain of its own, so it cannot be an alternative name of \(domain.name)",
                        hint: "remove it from domains: or from alternatives")
                }
            }
        }
        for user in users {
            let field = "mail.users.\(user.address)"
            checkDomain(of: user.address, user.location, field)
            if !seen.insert(user.address).inserted || user.address == admin?.address {
                d.report(
                    .duplicateName, at: user.location, field: field, "\(user.address) is declared twice",
                    hint: admin?.address == user.address
                        ? "the first admin is created once from mail.admin; remove one of the two" : nil)
            }
            if case .list(let managed) = user.fields["manager_of"] {
                for case .string(let name) in managed where !domains.contains(name) {
                    d.report(
                        .invalidValue, at: user.location, field: field + ".manager_of",
                        "\(name) is not one of the mail domains", hint: "list domains from domains:")
                }
            }
        }
        var aliases = Set<String>()
        for alias in self.aliases {
            let field = "mail.aliases.\(alias.address)"
            checkDomain(of: alias.address, alias.location, field, wildcard: alias.fields["wildcard"] == .bool(true))
            if seen.contains(alias.address) {
                d.report(
                    .duplicateName, at: alias.location, field: field,
                    "\(alias.address) is both a user and an alias", hint: "an address is one or the other")
            }
            if !aliases.insert(alias.address).inserted {
                d.report(.duplicateName, at: alias.location, field: field, "\(alias.address) is declared twice")
            }
            if alias.fields["destination"] == nil {
                d.report(
                    .missingField, at: alias.location, field: field + ".to", "the alias has no destination",
                    hint: "to: [alice@example.com]")
            }
        }
        for relay in relays {
            let field = "mail.relays.\(relay.name)"
            if !Grammar.isHostname(relay.name, requireDot: true) {
                d.report(
                    .invalidHostname, at: relay.location, field: field, "'\(relay.name)' is not a domain",
                    hint: "the relayed domain, e.g. relay.example.org")
            } else if domains.contains(relay.name) {
                d.report(
                    .invalidValue, at: relay.location, field: field,
                    "\(relay.name) is a mail domain, so Mailu delivers it itself and cannot relay it",
                    hint: "remove it from domains: or from relays")
            }
        }
    }

    var isEmpty: Bool { admin == nil && domains.isEmpty && users.isEmpty && aliases.isEmpty && relays.isEmpty }
}

// MARK: - Expansion

extension MailSettings {
    /// Mailu's object kinds, in the order an import creates them.
    static var kinds: [ObjectKind] {
        let guardText =
            "Mailu would delete the account (its maildir stays on disk and returns if the address is made again);"
            + " to allow it, set mail.delete_mailboxes: true in mailroom.yaml, or declare it again"
        return [
            ObjectKind(
                name: "domain", keyField: "name", unorderedFields: ["alternatives"], deletionGuard: guardText,
                deletionNote: "with its users and aliases"),
            ObjectKind(
                name: "user", keyField: "email", unorderedFields: ["manager_of"], deletionGuard: guardText,
                ownerKind: "domain", deletionNote: "the account and its settings; the maildir stays on disk"),
            ObjectKind(name: "alias", keyField: "email", unorderedFields: ["destination"], ownerKind: "domain"),
            ObjectKind(name: "relay", keyField: "name"),
        ]
    }

    /// The objects of a spec, for the admin container named `container`.
    func store(settings s: MailuSettings, container: String, secrets: SecretValues) -> ObjectStore {
        var objects: [ManagedObject] = []
        let settingsByDomain = Dictionary(domains.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let top = s.location(of: "domains", fallback: SourceLocation(file: "mailroom.yaml", line: 1, column: 1))
        // A backup MX holds the domains as relays (its `mail.relays`), not as its own.
        for (index, name) in s.domains.enumerated() where s.relayTarget == nil {
            let declared = settingsByDomain[name]
            objects.append(
                ManagedObject(
                    kind: "domain", key: name, fields: declared?.fields ?? [:],
                    origin: declared?.location ?? s.location(of: "domains[\(index)]", fallback: top)))
        }
        if let admin {
            objects.append(
                ManagedObject(
                    kind: "user", key: admin.address, fields: ["global_admin": .bool(true)],
                    secret: Self.passwordWrite(.secret(admin.passwordSecret), secrets: secrets), createOnly: true,
                    note: "first admin, created once", origin: admin.location))
        }
        for user in users {
            objects.append(
                ManagedObject(
                    kind: "user", key: user.address, fields: user.fields,
                    secret: user.password.map { Self.passwordWrite($0, secrets: secrets) }, origin: user.location))
        }
        for alias in aliases {
            objects.append(
                ManagedObject(kind: "alias", key: alias.address, fields: alias.fields, origin: alias.location))
        }
        for relay in relays {
            objects.append(ManagedObject(kind: "relay", key: relay.name, fields: relay.fields, origin: relay.location))
        }
        return ObjectStore(
            container: container,
            exportCommand: ["flask", "mailu", "config-export", "--full", "--json"],
            // Always --update: without it Mailu deletes every domain, user, alias and relay first.
            importCommand: ["flask", "mailu", "config-import", "--update", "-"],
            kinds: Self.kinds, objects: objects,
            guardedDeletionsAllowed: deleteMailboxes,
            // With --update Mailu merges lists (destinations, alternatives) unless told to prune.
            listReplaceMarker: "-prune-")
    }

    /// A hash goes to Mailu as it is; a secret goes as plaintext that Mailu hashes
    /// (`hash_password: true`), on the import's stdin only.
    static func passwordWrite(_ password: Password, secrets: SecretValues) -> SecretWrite {
        let source: String
        let payload: [String: ObjectValue]
        switch password {
        case .hash(let hash):
            source = "a hash in mailroom.yaml"
            payload = ["password": .string(hash)]
        case .secret(let key):
            source = "secret \(key)"
            payload = ["password": .string(secrets[key] ?? ""), "hash_password": .bool(true)]
        }
        // Keyed with the host's SECRET_KEY: the record (applied.json) alone gives no way to try
        // passwords against it.
        var mac = HMAC<SHA256>(key: SymmetricKey(data: Array((secrets["SECRET_KEY"] ?? "").utf8)))
        mac.update(data: Array(source.utf8) + [0])
        for key in payload.keys.sorted() { mac.update(data: Array("\(key)=\(payload[key]!)".utf8) + [0]) }
        return SecretWrite(field: "password", payload: payload, source: source, digest: hex(mac.finalize()))
    }

    /// One DKIM key per domain, where the admin container reads it (`/dkim/<domain>.<selector>.key`).
    static func dkimKeys(_ s: MailuSettings) -> [KeyFile] {
        s.domains.map { domain in
            KeyFile(path: dkimKeyPath(s, domain: domain), mode: 0o600, purpose: "DKIM key of \(domain)")
        }
    }

    static func dkimKeyPath(_ s: MailuSettings, domain: String) -> String {
        "\(s.root.trimmingTrailingSlash)/dkim/\(domain).\(dkimSelector(s)).key"
    }

    /// Mailu's `DKIM_SELECTOR`: `dkim` unless `mailu.env` sets another.
    static func dkimSelector(_ s: MailuSettings) -> String {
        s.extraEnv.last { $0.key == "DKIM_SELECTOR" }?.value ?? "dkim"
    }
}
