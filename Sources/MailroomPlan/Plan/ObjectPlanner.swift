import Foundation
import MailroomRender
import MailroomSpec

/// What the application's own objects (Mailu's domains, users, aliases, relays) need.
public struct ObjectPlan: Sendable, Equatable, Codable {
    /// The container whose commands export and import them.
    public var container: String
    /// Objects to create, update, adopt or delete, in import order.
    public var changes: [ObjectChange]
    /// Objects in the application that the spec does not declare and Mailroom never managed
    /// (made in the UI): left alone.
    public var unmanaged: [String]
    /// Why the objects could not be read now (the container is not running yet). Apply reads
    /// them again once the container is healthy and imports what is missing then.
    public var pending: String?
    /// Changes refused (a guarded deletion): apply refuses the whole rollout.
    public var conflicts: [String]

    public var hasChanges: Bool { !changes.isEmpty || pending != nil }
    /// Changes that need an import (adoptions are only recorded).
    public var imports: [ObjectChange] { changes.filter { $0.action != .adopt } }
}

public struct ObjectChange: Sendable, Equatable, Codable {
    public enum Action: String, Sendable, Codable {
        case create, update, delete
        /// Already as declared, but not yet in Mailroom's record: recorded as managed, no import.
        case adopt
    }

    public var kind: String
    public var key: String
    public var action: Action
    /// Field by field, values as printed (secrets as `(secret)`).
    public var fields: [ObjectFieldChange]
    /// `first admin, created once`; for deletions, what is lost.
    public var note: String?

    public var id: String { "\(kind) \(key)" }
}

extension [ObjectChange] {
    /// One count per action that occurs, in the order create, update, delete, adopt:
    /// `["2 to create", "1 to update"]` with `{ "to \($0.rawValue)" }`.
    public func counts(_ word: (ObjectChange.Action) -> String) -> [String] {
        [ObjectChange.Action.create, .update, .delete, .adopt].compactMap { action in
            let n = filter { $0.action == action }.count
            return n == 0 ? nil : "\(n) \(word(action))"
        }
    }
}

public struct ObjectFieldChange: Sendable, Equatable, Codable {
    public var field: String
    /// `nil` when the application does not have the field yet (or for a new object).
    public var old: String?
    public var new: String?
}

/// The objects the application reports: by kind, then by key, each object's fields.
public enum ObservedObjects: Sendable, Equatable {
    case exported([String: [String: [String: ObjectValue]]])
    /// Why they could not be read: the container is not running, the export failed.
    case unavailable(String)

    /// Parses the export's JSON, `{"<kind>": [{<field>: <value>}, ...]}`, keeping the known kinds.
    public static func parse(_ data: Data, kinds: [ObjectKind]) throws -> ObservedObjects {
        let document = try JSONDecoder().decode([String: ObjectValue].self, from: data)
        var objects: [String: [String: [String: ObjectValue]]] = [:]
        for kind in kinds {
            var byKey: [String: [String: ObjectValue]] = [:]
            if case .list(let items) = document[kind.name] ?? .list([]) {
                for case .object(let fields) in items {
                    guard case .string(let key) = fields[kind.keyField] else { continue }
                    byKey[key.lowercased()] = fields
                }
            }
            objects[kind.name] = byKey
        }
        return .exported(objects)
    }
}

/// Diffs declared objects against the application's and Mailroom's record of what it manages.
/// Pure. Ownership as for containers: only declared fields of declared or recorded objects are
/// touched; everything else in the application is someone else's.
public enum ObjectPlanner {
    public static func plan(_ store: ObjectStore, observed: ObservedObjects, applied: AppliedState) -> ObjectPlan {
        var plan = ObjectPlan(container: store.container, changes: [], unmanaged: [], pending: nil, conflicts: [])
        let exported: [String: [String: [String: ObjectValue]]]?
        switch observed {
        case .exported(let objects): exported = objects
        case .unavailable(let why): (exported, plan.pending) = (nil, why)
        }
        let declared = Set(store.objects.map(\.id))
        for kind in store.kinds {
            for object in store.objects where object.kind == kind.name {
                if let change = change(object, kind: kind, observed: exported?[kind.name], applied: applied) {
                    plan.changes.append(change)
                }
            }
            // Objects Mailroom created (its record) that the spec no longer declares.
            for id in applied.objects.keys.sorted() where !declared.contains(id) && id.hasPrefix(kind.name + " ") {
                let key = String(id.dropFirst(kind.name.count + 1))
                // Without an export, a deletion is planned and checked again when apply reads the objects.
                guard exported == nil || exported?[kind.name]?[key] != nil else { continue }
                if let guardText = kind.deletionGuard, !store.guardedDeletionsAllowed {
                    plan.conflicts.append("\(id) was removed from the spec; \(guardText)")
                    continue
                }
                // What goes with it that Mailroom does not manage: said in the plan, not hidden.
                let owned = store.kinds.filter { $0.ownerKind == kind.name }.flatMap { owned in
                    (exported?[owned.name] ?? [:]).keys.sorted().filter { owned.ownerKey(of: $0) == key }
                        .map { "\(owned.name) \($0)" }
                }.filter { !declared.contains($0) && applied.objects[$0] == nil }
                let note = [kind.deletionNote, owned.isEmpty ? nil : "also removes \(owned.joined(separator: ", "))"]
                    .compactMap { $0 }.joined(separator: "; ")
                plan.changes.append(
                    ObjectChange(
                        kind: kind.name, key: key, action: .delete, fields: [], note: note.isEmpty ? nil : note))
            }
            for key in (exported?[kind.name] ?? [:]).keys.sorted()
            where !declared.contains("\(kind.name) \(key)") && applied.objects["\(kind.name) \(key)"] == nil {
                plan.unmanaged.append("\(kind.name) \(key)")
            }
        }
        return plan
    }

    /// One declared object against what the application has; `nil` when nothing is to be done.
    static func change(
        _ object: ManagedObject, kind: ObjectKind, observed: [String: [String: ObjectValue]]?, applied: AppliedState
    ) -> ObjectChange? {
        let record = applied.objects[object.id]
        let secretChange = object.secret.map { secret in
            ObjectFieldChange(field: secret.field, old: nil, new: "(secret, \(secret.source))")
        }
        guard let observed else {
            // Not readable now: new objects, and secrets whose source changed, are known to be needed.
            if record == nil {
                return ObjectChange(
                    kind: object.kind, key: object.key, action: .create, fields: declaredFields(object, kind: kind),
                    note: object.note)
            }
            guard let secret = object.secret, !object.createOnly, record?.secretDigest != secret.digest else {
                return nil
            }
            return ObjectChange(
                kind: object.kind, key: object.key, action: .update, fields: [secretChange].compactMap { $0 })
        }
        guard let current = observed[object.key] else {
            return ObjectChange(
                kind: object.kind, key: object.key, action: .create, fields: declaredFields(object, kind: kind),
                note: object.note)
        }
        if object.createOnly { return nil }
        var fields: [ObjectFieldChange] = []
        for name in object.fields.keys.sorted() {
            let want = normalized(object.fields[name]!, field: name, kind: kind)
            let have = current[name].map { normalized($0, field: name, kind: kind) }
            if want != have {
                fields.append(ObjectFieldChange(field: name, old: have?.description, new: want.description))
            }
        }
        // Fields Mailroom set before and the spec no longer declares go back to their default
        // (`admin: true` removed revokes the admin right).
        for name in (record?.fields ?? []) where object.fields[name] == nil && current[name] != nil {
            fields.append(ObjectFieldChange(field: name, old: current[name]!.description, new: "(default)"))
        }
        if let secret = object.secret, record?.secretDigest != secret.digest, let secretChange {
            fields.append(secretChange)
        }
        if !fields.isEmpty { return ObjectChange(kind: object.kind, key: object.key, action: .update, fields: fields) }
        if record == nil { return ObjectChange(kind: object.kind, key: object.key, action: .adopt, fields: []) }
        return nil
    }

    static func declaredFields(_ object: ManagedObject, kind: ObjectKind) -> [ObjectFieldChange] {
        object.fields.keys.sorted().map { name in
            ObjectFieldChange(
                field: name, old: nil, new: normalized(object.fields[name]!, field: name, kind: kind).description)
        } + (object.secret.map { [ObjectFieldChange(field: $0.field, old: nil, new: "(secret, \($0.source))")] } ?? [])
    }

    static func normalized(_ value: ObjectValue, field: String, kind: ObjectKind) -> ObjectValue {
        kind.unorderedFields.contains(field) ? value.sorted : value
    }

    /// Between two specs (two commits), no host involved: objects declared in one and not the
    /// other, and declared fields that differ. A secret shows as changed when its source or value does.
    public static func diff(from old: ObjectStore?, to new: ObjectStore?) -> [ObjectChange] {
        let before = old?.objects ?? []
        let after = new?.objects ?? []
        let kinds = (new ?? old)?.kinds ?? []
        var changes: [ObjectChange] = []
        for kind in kinds {
            let oldByKey = Dictionary(
                before.filter { $0.kind == kind.name }.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
            for object in after where object.kind == kind.name {
                guard let previous = oldByKey[object.key] else {
                    changes.append(
                        ObjectChange(
                            kind: object.kind, key: object.key, action: .create,
                            fields: declaredFields(object, kind: kind), note: object.note))
                    continue
                }
                var fields: [ObjectFieldChange] = []
                for name in Set(object.fields.keys).union(previous.fields.keys).sorted() {
                    let want = object.fields[name].map { normalized($0, field: name, kind: kind) }
                    let had = previous.fields[name].map { normalized($0, field: name, kind: kind) }
                    if want != had {
                        fields.append(ObjectFieldChange(field: name, old: had?.description, new: want?.description))
                    }
                }
                if let secret = object.secret, secret.digest != previous.secret?.digest {
                    fields.append(
                        ObjectFieldChange(
                            field: secret.field, old: previous.secret.map { "(secret, \($0.source))" },
                            new: "(secret, \(secret.source))"))
                }
                if !fields.isEmpty {
                    changes.append(ObjectChange(kind: object.kind, key: object.key, action: .update, fields: fields))
                }
            }
            let newKeys = Set(after.filter { $0.kind == kind.name }.map(\.key))
            for object in before where object.kind == kind.name && !newKeys.contains(object.key) {
                changes.append(ObjectChange(kind: object.kind, key: object.key, action: .delete, fields: []))
            }
        }
        return changes
    }

    // MARK: - The import

    /// The import's stdin, in the export's shape: for each kind in order, the created and updated
    /// objects with their changed fields (and secrets, which only this document holds), and a
    /// deletion marker (`{"-<key field>": key}`) per deleted object.
    public static func importDocument(_ changes: [ObjectChange], store: ObjectStore) throws -> Data {
        var document: [String: ObjectValue] = [:]
        let deleted = Set(changes.filter { $0.action == .delete }.map(\.id))
        for kind in store.kinds {
            var items: [ObjectValue] = []
            for change in changes where change.kind == kind.name {
                switch change.action {
                case .adopt: continue
                case .delete:
                    // Gone with its owner: naming it again would fail as "not found".
                    if let owner = kind.ownerKind, let key = kind.ownerKey(of: change.key),
                        deleted.contains("\(owner) \(key)")
                    {
                        continue
                    }
                    items.append(.object([store.markerPrefix + kind.keyField: .string(change.key)]))
                case .create, .update:
                    guard let object = store.object(change.kind, change.key) else { continue }
                    var item: [String: ObjectValue] = [kind.keyField: .string(object.key)]
                    for field in change.fields {
                        guard let value = object.fields[field.field] else {
                            // No longer declared, and not the write-only field: back to the default.
                            if field.field != object.secret?.field { item[store.markerPrefix + field.field] = .null }
                            continue
                        }
                        // An update merges lists; the marker makes the declared list the whole list.
                        if change.action == .update, case .list(let values) = value,
                            let marker = store.listReplaceMarker
                        {
                            item[field.field] = .list([.string(marker)] + values)
                        } else {
                            item[field.field] = value
                        }
                    }
                    if let secret = object.secret, change.fields.contains(where: { $0.field == secret.field }) {
                        item.merge(secret.payload) { _, new in new }
                    }
                    items.append(.object(item))
                }
            }
            if !items.isEmpty { document[kind.name] = .list(items) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(document)
    }

    /// The record after the changes were applied: what Mailroom now manages.
    /// Entries the spec no longer declares and the application no longer has (deleted in the UI,
    /// or a crash between import and record) are dropped: the address is free again, and
    /// whatever someone makes under it later is theirs, not Mailroom's.
    public static func record(
        _ changes: [ObjectChange], store: ObjectStore, into applied: [String: AppliedState.AppliedObject],
        observed: ObservedObjects? = nil
    ) -> [String: AppliedState.AppliedObject] {
        var record = applied
        if case .exported(let objects) = observed {
            let declared = Set(store.objects.map(\.id))
            for id in record.keys where !declared.contains(id) {
                let kind = String(id.prefix { $0 != " " })
                if objects[kind]?[String(id.dropFirst(kind.count + 1))] == nil { record[id] = nil }
            }
        }
        for change in changes {
            switch change.action {
            case .delete:
                record[change.id] = nil
            case .create, .update, .adopt:
                // The first admin is never managed afterwards: never updated, never deleted.
                guard let object = store.object(change.kind, change.key), !object.createOnly else { continue }
                let previous = record[change.id]
                let secretWritten =
                    object.secret.map { secret in
                        change.action == .create || change.fields.contains { $0.field == secret.field }
                    } ?? false
                record[change.id] = AppliedState.AppliedObject(
                    fields: object.fields.keys.sorted(),
                    secretDigest: secretWritten ? object.secret?.digest : previous?.secretDigest)
            }
        }
        return record
    }
}
