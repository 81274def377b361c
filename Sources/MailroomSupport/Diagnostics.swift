/// A place in a spec file, for error messages (`mailroom.yaml:12:5`).
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem found in a spec: where, which field, what is wrong and what to do.
public struct SpecDiagnostic: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A stable name for the class of problem, for tests and machines.
    public enum Code: String, Sendable, Codable {
        case invalidYAML = "invalid-yaml"
        case unknownKey = "unknown-key"
        case wrongType = "wrong-type"
        case missingField = "missing-field"
        case invalidValue = "invalid-value"
        case duplicateName = "duplicate-name"
        case duplicateAddress = "duplicate-address"
        case addressOutsideSubnet = "address-outside-subnet"
        case addressIsGateway = "address-is-gateway"
        case portCollision = "port-collision"
        case unknownDependency = "unknown-dependency"
        case dependencyCycle = "dependency-cycle"
        case invalidHostname = "invalid-hostname"
        case invalidPath = "invalid-path"
        case invalidEnv = "invalid-env"
        case imageWithoutTag = "image-without-tag"
        case secretsFile = "secrets-file"
    }

    public var code: Code
    public var location: SourceLocation
    /// Dotted path of the field, e.g. `containers.mailu-smtp.ip`.
    public var field: String
    public var message: String
    /// What the user should do about it.
    public var hint: String?

    public init(_ code: Code, at location: SourceLocation, field: String, _ message: String, hint: String? = nil) {
        self.code = code
        self.location = location
        self.field = field
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var text = "\(location): \(field): \(message)"
        if let hint { text += " (\(hint))" }
        return text
    }
}

/// An invalid spec: every problem found, in file order.
public struct SpecError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [SpecDiagnostic]

    public init(_ diagnostics: [SpecDiagnostic]) {
        self.diagnostics = diagnostics.sorted {
            ($0.location.file, $0.location.line, $0.location.column) < (
                $1.location.file, $1.location.line, $1.location.column
            )
        }
    }

    public var description: String {
        let count = diagnostics.count
        let head = "the spec is invalid (\(count) problem\(count == 1 ? "" : "s")); nothing was rendered or changed:"
        return ([head] + diagnostics.map { "  " + $0.description }).joined(separator: "\n")
    }
}

/// Collects diagnostics while a spec is read, so every problem is reported at once.
public struct DiagnosticCollector {
    package private(set) var diagnostics: [SpecDiagnostic] = []

    package init() {}

    package mutating func report(_ diagnostic: SpecDiagnostic) {
        diagnostics.append(diagnostic)
    }

    package mutating func report(
        _ code: SpecDiagnostic.Code, at location: SourceLocation, field: String, _ message: String, hint: String? = nil
    ) {
        diagnostics.append(SpecDiagnostic(code, at: location, field: field, message, hint: hint))
    }

    package var isEmpty: Bool { diagnostics.isEmpty }

    package func throwIfAny() throws {
        if !diagnostics.isEmpty { throw SpecError(diagnostics) }
    }
}

/// The closest candidate by edit distance, for "did you mean" hints.
package func closestMatch(to word: String, in candidates: [String]) -> String? {
    var best: (String, Int)?
    for candidate in candidates {
        let distance = editDistance(word.lowercased(), candidate.lowercased())
        if distance <= max(2, candidate.count / 3), distance < (best?.1 ?? .max) {
            best = (candidate, distance)
        }
    }
    return best?.0
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
