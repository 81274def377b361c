import FoundationEssentials

/// `config-import`: MailuSchema.loads with Mailu 2.0's update/clear semantics (schemas.py
/// BaseSchema._patch_many, _patch_item, _prune_items) applied to a copy of the store.
///
/// Without `update` every domain, user, alias and relay is deleted first and the input is
/// created anew (Mailu's default: a full replace). With `update` the input merges:
/// - an item with its key (`name`/`email`) creates the object or sets only the given fields;
///   list fields (alternatives, manager_of, destination, forward_destination) are merged with
///   the stored list unless they contain `-prune-`, and `-item` removes one entry;
/// - `{"-email": "x"}` (the key with a leading `-`) deletes that object, `{"-email": null}`
///   deletes every object of the section that the input does not name;
/// - `"-attr": null` resets an attribute to its default.
struct Importer {
    var update = false
    var store: Store
    /// Per-object messages for `-v`.
    var verboseLines: [String] = []

    init(store: Store, update: Bool) {
        self.store = store
        self.update = update
    }

    /// Validation errors as marshmallow collects them: location (`user.0.email`) → message.
    private var errors: [(String, String)] = []

    mutating func load(_ input: JSON) throws {
        guard let top = input.object else { throw validation([("_schema", "Invalid input type.")]) }
        let unknown = top.keys.filter { key in !Section.all.contains { $0.name == key } }.sorted()
        if !unknown.isEmpty { throw validation(unknown.map { ($0, "Unknown field.") }) }
        if !update {
            store = .empty
        }
        for section in Section.all {
            guard let value = top[section.name] else { continue }
            guard let items = value.array else { throw validation([("\(section.name)._schema", "Invalid type.")]) }
            try load(items, section: section)
        }
        try checkDuplicateNames()
    }

    private func validation(_ errors: [(String, String)]) -> CommandFailure {
        let width = errors.map(\.0.count).max() ?? 0
        let count = errors.count == 1 ? "1 error" : "\(errors.count) errors"
        let lines = errors.map { "     - " + padded($0.0, width) + " : " + $0.1 }
        return .click((["[ValidationError] \(count) occurred during input validation"] + lines).joined(separator: "\n"))
    }

    private mutating func load(_ items: [JSON], section: Section) throws {
        errors = []
        var named: Set<String> = []
        var created: Set<String> = []
        var prune = false
        for (index, item) in items.enumerated() {
            let at = "\(section.name).\(index)"
            guard var data = item.object else {
                let model = section.name.prefix(1).uppercased() + section.name.dropFirst()
                errors.append((at, "Invalid item. \(model) needs to be an object."))
                continue
            }
            if update {
                if data["__delete__"] != nil {
                    errors.append(("\(at).__delete__", "Unknown field."))
                    continue
                }
                if data["hash_password"] != nil, data["password"] == nil {
                    errors.append(("\(at).hash_password", "Nothing to hash. Field \"password\" is missing."))
                    continue
                }
                if let marker = data["-" + section.key] {
                    guard case .string(let raw) = marker else {
                        if marker == .null {
                            prune = true
                        } else {
                            errors.append(("\(at).\(section.key)", "Not a valid string."))
                        }
                        continue
                    }
                    let key = raw.lowercased()
                    if store.sections[section.name]![key] == nil {
                        errors.append(("\(at).\(section.key)", "Item to delete not found: \(pythonRepr(raw))."))
                    } else {
                        store.delete(key, in: section.name)
                        named.insert(key)
                    }
                    continue
                }
                guard resetDefaults(&data, section: section, at: at) else { continue }
            }
            guard let key = validate(data, section: section, at: at) else { continue }
            if !update, created.contains(key) {
                throw CommandFailure.click(
                    "[IntegrityError] UNIQUE constraint failed: \(section.name).\(section.key) (\(pythonRepr(key)))")
            }
            try apply(data, key: key, section: section, at: at)
            named.insert(key)
            created.insert(key)
        }
        if !errors.isEmpty { throw validation(errors) }
        if prune {
            for key in store.sections[section.name]!.keys.sorted() where !named.contains(key) {
                store.delete(key, in: section.name)
            }
        }
    }

    /// `"-attr": null` → the attribute at its default. False when it recorded an error.
    private mutating func resetDefaults(_ data: inout [String: JSON], section: Section, at: String) -> Bool {
        var ok = true
        for (rawKey, value) in data where rawKey.hasPrefix("-") {
            data[rawKey] = nil
            let name = String(rawKey.dropFirst())
            guard let field = section.field(name) else {
                errors.append(("\(at).\(name)", "Unknown field."))
                ok = false
                continue
            }
            guard value == .null else {
                errors.append(("\(at).\(name)", "Value must be \"null\" when resetting to default."))
                ok = false
                continue
            }
            guard let defaultValue = field.defaultValue else {
                errors.append(("\(at).\(name)", "Field has no default value."))
                ok = false
                continue
            }
            // "-prune-" makes the merge of list fields a replacement.
            if case .array = defaultValue {
                data[name] = .array([.string("-prune-")])
            } else {
                data[name] = defaultValue
            }
        }
        return ok
    }

    /// Checks names and types; returns the object's key (lowercased, as Mailu stores it).
    private mutating func validate(_ data: [String: JSON], section: Section, at: String) -> String? {
        var ok = true
        for (name, value) in data.sorted(by: { $0.key < $1.key }) {
            if name == section.key || (name == "hash_password" && section.name == "user") {
                if name == "hash_password", case .bool = value { continue }
                if name == section.key, case .string = value { continue }
                errors.append(
                    ("\(at).\(name)", name == "hash_password" ? "Not a valid boolean." : "Not a valid string."))
                ok = false
                continue
            }
            guard let field = section.field(name) else {
                errors.append(("\(at).\(name)", "Unknown field."))
                ok = false
                continue
            }
            if let message = typeError(value, field: field) {
                errors.append(("\(at).\(name)", message))
                ok = false
            }
        }
        guard case .string(let rawKey) = data[section.key] ?? .null else {
            if data[section.key] == nil {
                errors.append(("\(at).\(section.key)", "Missing data for required field."))
            }
            return nil
        }
        guard ok else { return nil }
        return rawKey.lowercased()
    }

    private func typeError(_ value: JSON, field: Field) -> String? {
        switch (field.kind, value) {
        case (.nullableString, .null), (.comment, .null), (.dkimKey, .null): return nil
        case (_, .null): return "Field may not be null."
        case (.bool, .bool), (.int, .int), (.string, .string), (.nullableString, .string), (.comment, .string),
            (.password, .string), (.dkimKey, .string), (.addresses, .string):
            return nil
        case (.date, .string(let text)):
            let parts = text.split(separator: "-", omittingEmptySubsequences: false)
            let valid =
                parts.count == 3 && parts.map(\.count) == [4, 2, 2] && parts.allSatisfy { $0.allSatisfy(\.isNumber) }
            return valid ? nil : "Not a valid date."
        case (.names, .array(let items)), (.addresses, .array(let items)):
            return items.allSatisfy { $0.string != nil } ? nil : "Not a valid list of strings."
        case (.unsupportedList, .array(let items)):
            return items.isEmpty ? nil : "mailu-admin-fake keeps no \(field.name): only [] is accepted."
        case (.bool, _): return "Not a valid boolean."
        case (.int, _): return "Not a valid integer."
        case (.date, _): return "Not a valid date."
        case (.names, _): return "Not a valid list."
        case (.addresses, _): return "Not a valid string or list."
        case (.unsupportedList, _): return "Invalid type."
        default: return "Not a valid string."
        }
    }

    private mutating func apply(_ data: [String: JSON], key: String, section: Section, at: String) throws {
        let existing = store.sections[section.name]![key]
        var object = existing ?? section.defaults(key: key)
        if existing == nil, section.name == "user", data["password"] == nil {
            errors.append(("\(at).password", "Missing data for required field."))
            return
        }
        if section.name == "user" || section.name == "alias" {
            guard let domain = Store.domainName(ofEmail: key), !domain.isEmpty, !key.hasPrefix("@") else {
                throw CommandFailure.click("[ValueError] invalid email address (no \"@\"): \(pythonRepr(key))")
            }
            // Mailu on SQLite (no foreign keys enforced) would store the orphan; PostgreSQL and
            // MySQL refuse it. The fake refuses, as a database with foreign keys does.
            guard store.sections["domain"]![domain] != nil else {
                throw CommandFailure.click(
                    "[IntegrityError] FOREIGN KEY constraint failed: domain \(pythonRepr(domain)) of "
                        + "\(section.name) \(pythonRepr(key)) not found")
            }
        }
        for (name, value) in data where name != section.key && name != "hash_password" {
            guard let field = section.field(name) else { continue }
            switch field.kind {
            case .names, .addresses:
                let old = (existing?[name]?.array ?? []).compactMap(\.string)
                guard let merged = mergeList(value, old: old, field: field, at: "\(at).\(name)") else { return }
                object[name] = .array(merged.map(JSON.string))
            case .password:
                let given = value.string!
                let hashed = data["hash_password"] == .bool(true) ? fakeHash(given) : strippingScheme(given)
                guard looksLikeHash(hashed) else {
                    errors.append(("\(at).password", "invalid password hash \(pythonRepr(hashed))"))
                    return
                }
                object[name] = .string(hashed)
            case .dkimKey:
                object[name] = .string(try dkimKey(value, domain: key, at: at))
            case .comment:
                object[name] = value == .null ? .string("") : value
            default:
                object[name] = value
            }
        }
        if section.name == "user", case .array(let domains) = object["manager_of"] ?? .null {
            for domain in domains.compactMap(\.string) where store.sections["domain"]![domain] == nil {
                throw CommandFailure.click("[IntegrityError] domain \(pythonRepr(domain)) of manager_of not found")
            }
        }
        store.sections[section.name]![key] = object
    }

    /// Mailu's list merge in update mode; a plain replacement otherwise.
    private mutating func mergeList(_ value: JSON, old: [String], field: Field, at: String) -> [String]? {
        var items: [String]
        if case .string(let text) = value {
            items = text.split(separator: ",").map { trimmed($0) }.filter { !$0.isEmpty }
        } else {
            items = (value.array ?? []).compactMap(\.string)
        }
        if field.kind == .names { items = items.map { $0.lowercased() } }
        guard update else { return items }
        var result = Set(items)
        if result.remove("-prune-") == nil { result.formUnion(old) }
        for item in items where item.hasPrefix("-") && item != "-prune-" {
            result.remove(item)
            guard result.remove(String(item.dropFirst())) != nil else {
                errors.append(("?.\(field.name)", "Item to delete not found: \(pythonRepr(String(item.dropFirst())))."))
                return nil
            }
        }
        return result.sorted()
    }

    /// DkimKeyField: `-generate-` makes a key (a placeholder here), "" and `<hidden>` mean none
    /// (as in Mailu 2.0, importing an export without --secrets removes the keys), else a PEM.
    private func dkimKey(_ value: JSON, domain: String, at: String) throws -> String {
        let text = trimmed(value.string ?? "")
        if text.lowercased() == "-generate-" {
            return "-----BEGIN PRIVATE KEY-----\nMAILU-ADMIN-FAKE-NOT-A-KEY-\(domain)\n-----END PRIVATE KEY-----\n"
        }
        if text.isEmpty || text == "<hidden>" { return "" }
        guard text.hasPrefix("-----BEGIN "), text.contains("-----END ") else {
            throw CommandFailure.click(
                "[ValidationError] 1 error occurred during input validation\n     - \(at).dkim_key : "
                    + "invalid dkim key \(pythonRepr(String(text.prefix(40))))")
        }
        return text + "\n"
    }

    /// config.check(): one name may not be a domain, an alternative and a relay at once.
    private func checkDuplicateNames() throws {
        var seen: Set<String> = []
        let domains = store.sections["domain"]!
        let names =
            domains.keys.sorted()
            + domains.keys.sorted().flatMap { (domains[$0]!["alternatives"]?.array ?? []).compactMap(\.string) }
            + store.sections["relay"]!.keys.sorted()
        for name in names {
            guard seen.insert(name).inserted else {
                throw CommandFailure.click("[ValueError] Duplicate domain name: \(name)")
            }
        }
    }
}

/// What changed between two stores, counted as Mailu's `config-import` prints it:
/// `Created: domain(1) user(2) / Deleted: alias(1) / Modified: user(1)`, or `No changes.`.
func changeSummary(from old: Store, to new: Store) -> (summary: String, lines: [String]) {
    var counts: [String: [String: Int]] = [:]
    var lines: [String] = []
    for section in Section.all {
        let before = old.sections[section.name] ?? [:]
        let after = new.sections[section.name] ?? [:]
        for key in Set(before.keys).union(after.keys).sorted() {
            let action: String
            switch (before[key], after[key]) {
            case (nil, .some): action = "Created"
            case (.some, nil): action = "Deleted"
            case (.some(let a), .some(let b)) where a != b:
                action = "Modified"
                let changed = Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
                lines.append("Modified \(section.name): \(pythonRepr(key)) \(changed.joined(separator: ", "))")
                counts[action, default: [:]][section.name, default: 0] += 1
                continue
            default: continue
            }
            lines.append("\(action) \(section.name): \(pythonRepr(key))")
            counts[action, default: [:]][section.name, default: 0] += 1
        }
    }
    guard !counts.isEmpty else { return ("No changes.", lines) }
    let parts = counts.keys.sorted().map { action in
        "\(action): " + counts[action]!.keys.sorted().map { "\($0)(\(counts[action]![$0]!))" }.joined(separator: " ")
    }
    return (parts.joined(separator: " / "), lines)
}

/// Python's repr of a str, as Mailu's messages show values: 'x'.
func pythonRepr(_ value: String) -> String {
    if value.contains("'") && !value.contains("\"") { return "\"\(value)\"" }
    return "'" + value.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "\\'") + "'"
}
