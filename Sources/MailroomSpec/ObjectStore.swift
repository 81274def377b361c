import MailroomSupport

/// Objects that live inside an application rather than on the host (Mailu's domains, users,
/// aliases and relays), managed through the application's own export and import commands run
/// in one of its containers. The profile describes the commands and declares the objects; the
/// engine observes, diffs and applies them without knowing what they are.
public struct ObjectStore: Sendable, Equatable, Codable {
    /// The container whose commands read and write the objects.
    public var container: String
    /// Run in the container; prints every object as JSON, `{"<kind>": [{<field>: <value>}, ...]}`.
    public var exportCommand: [String]
    /// Run in the container with the changes as JSON on stdin, in the export's shape. It must
    /// merge (create or update the fields given), never replace the whole store.
    public var importCommand: [String]
    /// The kinds, in the order an import must create them (a domain before its users).
    public var kinds: [ObjectKind]
    /// The objects the spec declares.
    public var objects: [ManagedObject]
    /// Whether objects of guarded kinds may be deleted (Mailu: `mail.delete_mailboxes: true`).
    public var guardedDeletionsAllowed: Bool
    /// Prefix of the import's markers: the key field with it deletes an object
    /// (`{"-email": "x"}`), a field with it set to null resets the field (Mailu: `-`).
    public var markerPrefix = "-"
    /// An import merges a list into the stored one; a list starting with this marker replaces it
    /// instead (Mailu: `-prune-`). `nil`: lists replace.
    public var listReplaceMarker: String?

    public init(
        container: String, exportCommand: [String], importCommand: [String], kinds: [ObjectKind],
        objects: [ManagedObject], guardedDeletionsAllowed: Bool, listReplaceMarker: String? = nil
    ) {
        self.container = container
        self.exportCommand = exportCommand
        self.importCommand = importCommand
        self.kinds = kinds
        self.objects = objects
        self.guardedDeletionsAllowed = guardedDeletionsAllowed
        self.listReplaceMarker = listReplaceMarker
    }

    public func kind(named name: String) -> ObjectKind? { kinds.first { $0.name == name } }

    public func object(_ kind: String, _ key: String) -> ManagedObject? {
        objects.first { $0.kind == kind && $0.key == key }
    }
}

/// One kind of object: its section in the export and the field that names an object.
public struct ObjectKind: Sendable, Equatable, Codable {
    /// The export's section and the plan's word: `user`.
    public var name: String
    /// The field that identifies an object: `email`. A deletion is this field with a leading
    /// `-` (`{"-email": "bob@example.com"}`), Mailu's deletion marker.
    public var keyField: String
    /// List fields whose order means nothing (compared as sets).
    public var unorderedFields: [String]
    /// When deleting one destroys data: what to tell the operator (and how to allow it).
    /// Such deletions need ``ObjectStore/guardedDeletionsAllowed``.
    public var deletionGuard: String?
    /// What a deletion takes with it, for the plan (`the account and its settings`).
    public var deletionNote: String?
    /// The kind of object these belong to, named by the part of their key after its last `@`
    /// (a user of a domain); deleting the owner deletes them (Mailu's database cascades).
    public var ownerKind: String?

    public init(
        name: String, keyField: String, unorderedFields: [String] = [], deletionGuard: String? = nil,
        ownerKind: String? = nil, deletionNote: String? = nil
    ) {
        self.name = name
        self.keyField = keyField
        self.unorderedFields = unorderedFields
        self.deletionGuard = deletionGuard
        self.ownerKind = ownerKind
        self.deletionNote = deletionNote
    }

    /// The key of the object an object of this kind belongs to.
    public func ownerKey(of key: String) -> String? {
        guard ownerKind != nil, let at = key.lastIndex(of: "@") else { return nil }
        return String(key[key.index(after: at)...])
    }
}

/// An object the spec declares: only the fields written are managed; the others stay as the
/// application (or its users) set them.
public struct ManagedObject: Sendable, Equatable, Codable {
    public var kind: String
    public var key: String
    /// The declared fields besides the key, by the application's field names.
    public var fields: [String: ObjectValue]
    /// A field written only when the spec's source of it changes, never compared with the
    /// application (a password a user may since have changed).
    public var secret: SecretWrite?
    /// Created when missing, never updated or deleted afterwards (Mailu's first admin).
    public var createOnly: Bool
    /// A note for the plan: `first admin`.
    public var note: String?
    public var origin: SourceLocation

    public init(
        kind: String, key: String, fields: [String: ObjectValue] = [:], secret: SecretWrite? = nil,
        createOnly: Bool = false, note: String? = nil, origin: SourceLocation
    ) {
        self.kind = kind
        self.key = key
        self.fields = fields
        self.secret = secret
        self.createOnly = createOnly
        self.note = note
        self.origin = origin
    }

    /// `user alice@example.com`: how plans, the journal and the applied record name it.
    public var id: String { "\(kind) \(key)" }
}

/// A write-only field: what is sent may hold a value from the secrets file, so it is never
/// encoded (plans, `--explain`, the journal); the applied record keeps only its digest.
public struct SecretWrite: Sendable, Equatable, Codable {
    /// The field's name in plans: `password`.
    public var field: String
    /// Merged into the object's import item. Not encoded.
    public var payload: [String: ObjectValue]
    /// Where the value comes from, safe to print: `a hash in mailroom.yaml`, `secret ALICE_PASSWORD`.
    public var source: String
    /// Digest of the source and the value: the applied record keeps it to notice a change.
    public var digest: String

    public init(field: String, payload: [String: ObjectValue], source: String, digest: String) {
        self.field = field
        self.payload = payload
        self.source = source
        self.digest = digest
    }

    enum CodingKeys: String, CodingKey { case field, source, digest }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        field = try c.decode(String.self, forKey: .field)
        source = try c.decode(String.self, forKey: .source)
        digest = try c.decode(String.self, forKey: .digest)
        payload = [:]
    }
}

/// A private key Mailroom creates once on the host and never replaces (Mailu's DKIM keys):
/// RSA-2048, PKCS#8 PEM.
public struct KeyFile: Sendable, Equatable, Codable {
    public var path: String
    public var mode: Int
    /// What it is for, in plans: `DKIM key of example.com`.
    public var purpose: String

    public init(path: String, mode: Int = 0o600, purpose: String) {
        self.path = path
        self.mode = mode
        self.purpose = purpose
    }
}

/// A JSON value, as an application's export prints it and its import reads it.
public enum ObjectValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case number(Double)
    case string(String)
    case list([ObjectValue])
    case object([String: ObjectValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let value = try? c.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? c.decode(Int.self) {
            self = .int(value)
        } else if let value = try? c.decode(Double.self) {
            self = .number(value)
        } else if let value = try? c.decode(String.self) {
            self = .string(value)
        } else if let value = try? c.decode([ObjectValue].self) {
            self = .list(value)
        } else {
            self = .object(try c.decode([String: ObjectValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let value): try c.encode(value)
        case .int(let value): try c.encode(value)
        case .number(let value): try c.encode(value)
        case .string(let value): try c.encode(value)
        case .list(let value): try c.encode(value)
        case .object(let value): try c.encode(value)
        }
    }

    /// For plans: strings bare, lists in brackets.
    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .int(let value): "\(value)"
        case .number(let value): "\(value)"
        case .string(let value): value
        case .list(let values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        case .object(let value):
            "{" + value.keys.sorted().map { "\($0): \(value[$0]!.description)" }.joined(separator: ", ") + "}"
        }
    }

    /// The same value as a set: a list sorted and without repeats, to compare fields whose
    /// order means nothing (and which the application stores as a set).
    public var sorted: ObjectValue {
        guard case .list(let values) = self else { return self }
        return .list(Array(Set(values)).sorted { $0.description < $1.description })
    }
}
