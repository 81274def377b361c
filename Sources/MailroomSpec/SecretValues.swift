import Foundation

/// Secret values read on the host from a local `KEY=value` file that only its owner can read.
/// The spec names the keys; the values never enter git.
public struct SecretValues: Sendable, Equatable {
    public var path: String
    public var values: [String: String]
    /// Keys the spec needs that the file does not hold (apply refuses; plan warns).
    public var missing: [String]
    /// Keys named in `secrets.keys` beyond the profile's own.
    public var extraKeys: [String]
    /// Why the file could not be used, if it could not.
    public var problem: String?

    public init(
        path: String, values: [String: String] = [:], missing: [String] = [], extraKeys: [String] = [],
        problem: String? = nil
    ) {
        self.path = path
        self.values = values
        self.missing = missing
        self.extraKeys = extraKeys
        self.problem = problem
    }

    public subscript(key: String) -> String? { values[key] }

    /// Stand-in values, for rendering without a host (`mailroom diff`): every key reads "(secret)".
    public static func placeholder(keys: [String]) -> SecretValues {
        SecretValues(
            path: "(none)", values: Dictionary(keys.map { ($0, "(secret)") }, uniquingKeysWith: { first, _ in first }))
    }

    package var allValues: [String] { values.values.sorted() }

    /// Reads `path`. A missing file means every key is missing; a file that group or others
    /// can read is refused (its values are not used).
    public static func load(path: String, required: [String], extraKeys: [String]) -> SecretValues {
        var result = SecretValues(path: path, extraKeys: extraKeys)
        let wanted = required + extraKeys.filter { !required.contains($0) }
        var info = stat()
        guard stat(path, &info) == 0 else {
            result.missing = wanted
            result.problem =
                "secrets file \(path) does not exist; create it with mode 0600 holding \(wanted.map { "\($0)=…" }.joined(separator: ", "))"
            return result
        }
        if info.st_mode & 0o077 != 0 {
            result.missing = wanted
            result.problem =
                "secrets file \(path) is readable by group or others (mode \(String(info.st_mode & 0o777, radix: 8))); run: chmod 600 \(path)"
            return result
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            result.missing = wanted
            result.problem = "secrets file \(path) cannot be read as UTF-8 text"
            return result
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { continue }
            result.values[String(trimmed[..<equals])] = String(trimmed[trimmed.index(after: equals)...])
        }
        result.missing = wanted.filter { (result.values[$0] ?? "").isEmpty }
        if !result.missing.isEmpty {
            result.problem = "secrets file \(path) lacks \(result.missing.joined(separator: ", "))"
        }
        return result
    }
}
