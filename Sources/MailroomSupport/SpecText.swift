import Crypto
import Foundation

/// A spec's text and the name it goes by in diagnostics; what a rollout applies and archives.
public struct SpecText: Sendable, Equatable {
    public var text: String
    public var file: String

    public init(_ text: String, file: String) {
        self.text = text
        self.file = file
    }

    /// The spec's file name in its directory (or in a repository's `--path`).
    public static let fileName = "mailroom.yaml"

    /// `<directory>/mailroom.yaml`.
    public static func path(directory: String) -> String { (directory as NSString).appendingPathComponent(fileName) }

    /// Reads `<directory>/mailroom.yaml`.
    public static func directory(_ directory: String) throws -> SpecText {
        let path = path(directory: directory)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpecError([SpecDiagnostic(.missingField, at: SourceLocation(file: path, line: 1, column: 1), field: "(file)",
                                            "no \(fileName) in \(directory)", hint: "pass the spec directory as the first argument")])
        }
        return SpecText(String(decoding: data, as: UTF8.self), file: path)
    }

    /// The commit recorded for a spec that does not come from git: `local:` and the first
    /// 12 hex digits of the SHA-256 of its text, so the same text always gets the same name.
    public var localCommit: String {
        "local:" + hex(SHA256.hash(data: Data(text.utf8))).prefix(12)
    }
}
