import MailroomSupport
import Yams

/// A YAML node together with where it came from, read with every problem reported
/// to a `DiagnosticCollector` instead of thrown, so one pass finds them all.
public struct SpecNode {
    let node: Node
    /// Dotted path of this node in the spec, e.g. `mailu.hostnames`.
    package let path: String
    let file: String

    package var location: SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    /// Parses a YAML document; `nil` (with a diagnostic) when it is not valid YAML.
    static func parse(_ text: String, file: String, diagnostics: inout DiagnosticCollector) -> SpecNode? {
        do {
            // Values are read from their text (see `string`, `int`, `bool`), so no tag resolution:
            // Yams' default resolver matches every scalar against NSRegularExpressions.
            guard let node = try Yams.compose(yaml: text, .basic) else {
                diagnostics.report(
                    .invalidYAML, at: SourceLocation(file: file, line: 1, column: 1), field: "(document)",
                    "the file is empty", hint: "start from examples/minimal/mailroom.yaml")
                return nil
            }
            return SpecNode(node: node, path: "", file: file)
        } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
            diagnostics.report(
                .duplicateName, at: SourceLocation(file: file, line: context.mark.line, column: context.mark.column),
                field: "(mapping)", "'\(duplicates.joined(separator: "', '"))' is defined twice in one mapping",
                hint: "each name may appear once; merge the two entries")
            return nil
        } catch let error as YamlError {
            diagnostics.report(
                .invalidYAML, at: error.location(file: file), field: "(document)", error.summary,
                hint: "fix the YAML syntax at that place")
            return nil
        } catch {
            diagnostics.report(
                .invalidYAML, at: SourceLocation(file: file, line: 1, column: 1), field: "(document)",
                "\(error)")
            return nil
        }
    }

    private func child(_ node: Node, key: String) -> SpecNode {
        SpecNode(node: node, path: path.isEmpty ? key : "\(path).\(key)", file: file)
    }

    private var typeName: String {
        switch node {
        case .scalar: return "a scalar"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    private func wrongType(_ expected: String, _ diagnostics: inout DiagnosticCollector) {
        diagnostics.report(.wrongType, at: location, field: path, "expected \(expected), found \(typeName)")
    }

    /// The entries of a mapping, in file order; keys outside `allowed` are reported with the closest allowed key.
    package func mapping(allowed: [String], _ diagnostics: inout DiagnosticCollector) -> MappingReader? {
        guard case .mapping(let mapping) = node else {
            wrongType("a mapping", &diagnostics)
            return nil
        }
        var entries: [(String, SpecNode)] = []
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let key) = keyNode else {
                diagnostics.report(
                    .wrongType, at: child(keyNode, key: "?").location, field: path, "keys must be plain strings")
                continue
            }
            if !allowed.contains(key.string) {
                let suggestion = closestMatch(to: key.string, in: allowed)
                diagnostics.report(
                    .unknownKey, at: child(keyNode, key: key.string).location,
                    field: child(keyNode, key: key.string).path,
                    "unknown key '\(key.string)'",
                    hint: suggestion.map { "did you mean '\($0)'?" }
                        ?? "allowed here: \(allowed.joined(separator: ", "))")
                continue
            }
            entries.append((key.string, child(valueNode, key: key.string)))
        }
        return MappingReader(owner: self, entries: entries)
    }

    /// The entries of a mapping with free-form keys (names of containers, env keys, labels).
    package func freeMapping(_ diagnostics: inout DiagnosticCollector) -> [(
        key: String, keyLocation: SourceLocation, value: SpecNode
    )]? {
        guard case .mapping(let mapping) = node else {
            wrongType("a mapping", &diagnostics)
            return nil
        }
        var entries: [(key: String, keyLocation: SourceLocation, value: SpecNode)] = []
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let key) = keyNode else {
                diagnostics.report(.wrongType, at: location, field: path, "keys must be plain strings")
                continue
            }
            let keyChild = child(keyNode, key: key.string)
            entries.append((key.string, keyChild.location, child(valueNode, key: key.string)))
        }
        return entries
    }

    package func list(_ diagnostics: inout DiagnosticCollector) -> [SpecNode]? {
        guard case .sequence(let sequence) = node else {
            wrongType("a list", &diagnostics)
            return nil
        }
        return sequence.enumerated().map { SpecNode(node: $1, path: "\(path)[\($0)]", file: file) }
    }

    package var isList: Bool {
        if case .sequence = node { return true }
        return false
    }

    package var isScalar: Bool {
        if case .scalar = node { return true }
        return false
    }

    package var isNull: Bool {
        if case .scalar(let scalar) = node, scalar.style == .plain,
            ["", "~", "null", "Null", "NULL"].contains(scalar.string)
        {
            return true
        }
        return false
    }

    /// A scalar as text. Numbers and booleans are accepted as their literal text (`version: 2.0` is "2.0").
    package func string(_ diagnostics: inout DiagnosticCollector) -> String? {
        guard case .scalar(let scalar) = node else {
            wrongType("a string", &diagnostics)
            return nil
        }
        return scalar.string
    }

    package func int(_ diagnostics: inout DiagnosticCollector) -> Int? {
        guard case .scalar(let scalar) = node else {
            wrongType("a whole number", &diagnostics)
            return nil
        }
        guard let value = Int(scalar.string) else {
            diagnostics.report(
                .wrongType, at: location, field: path, "expected a whole number, found '\(scalar.string)'")
            return nil
        }
        return value
    }

    package func bool(_ diagnostics: inout DiagnosticCollector) -> Bool? {
        guard case .scalar(let scalar) = node else {
            wrongType("true or false", &diagnostics)
            return nil
        }
        switch scalar.string {
        case "true", "True", "TRUE", "yes", "on": return true
        case "false", "False", "FALSE", "no", "off": return false
        default:
            diagnostics.report(
                .wrongType, at: location, field: path, "expected true or false, found '\(scalar.string)'")
            return nil
        }
    }

    package func stringList(_ diagnostics: inout DiagnosticCollector) -> [(String, SpecNode)]? {
        guard let items = list(&diagnostics) else { return nil }
        return items.compactMap { item in item.string(&diagnostics).map { ($0, item) } }
    }

    /// A mapping of strings to scalars (env, labels), keeping file order.
    package func stringMap(_ diagnostics: inout DiagnosticCollector) -> [(key: String, value: String, node: SpecNode)]?
    {
        guard let entries = freeMapping(&diagnostics) else { return nil }
        return entries.compactMap { entry in
            if entry.value.isNull { return (entry.key, "", entry.value) }
            return entry.value.string(&diagnostics).map { (entry.key, $0, entry.value) }
        }
    }
}

/// Allowed keys of a mapping, looked up by name.
public struct MappingReader {
    let owner: SpecNode
    let entries: [(String, SpecNode)]

    package subscript(key: String) -> SpecNode? {
        entries.first { $0.0 == key }?.1
    }

    /// Reports a missing required key at the mapping itself.
    package func required(_ key: String, _ diagnostics: inout DiagnosticCollector, hint: String? = nil) -> SpecNode? {
        if let node = self[key] { return node }
        let field = owner.path.isEmpty ? key : "\(owner.path).\(key)"
        diagnostics.report(.missingField, at: owner.location, field: field, "'\(key)' is required", hint: hint)
        return nil
    }
}

extension YamlError {
    /// Where to look: for a list, mapping or quoted string left open (`[a, b` without `]`),
    /// where it opened, since the parser only notices lines later (or at the end of the file);
    /// otherwise where the parser stopped.
    package func location(file: String) -> SourceLocation {
        switch self {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            let at = opened?.mark ?? mark
            return SourceLocation(file: file, line: at.line, column: at.column)
        default:
            return SourceLocation(file: file, line: 1, column: 1)
        }
    }

    package var summary: String {
        switch self {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            guard let opened else { return "invalid YAML: \(problem)" }
            return "invalid YAML: \(opened.what) (at \(mark.line):\(mark.column): \(problem))"
        default:
            return "invalid YAML: \(self)"
        }
    }

    /// The construct left open that the parser was inside when it gave up, from its context
    /// ("while parsing a flow sequence", "while scanning a quoted scalar", ...), and where it began.
    private var opened: (what: String, mark: Mark)? {
        let context: Context?
        switch self {
        case .scanner(let c, _, _, _), .parser(let c, _, _, _), .composer(let c, _, _, _): context = c
        default: context = nil
        }
        guard let context else { return nil }
        let text = context.text
        if text.contains("flow") {
            let kind = text.contains("mapping") ? "a '{' mapping" : "a '[' list"
            return ("\(kind) that opens here is not closed", context.mark)
        }
        if text.contains("quoted scalar") { return ("a quoted string that opens here is not closed", context.mark) }
        if text.contains("simple key") { return ("the key that starts here has no ':' after it", context.mark) }
        return nil
    }
}
