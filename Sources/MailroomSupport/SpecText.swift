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

    /// Reads `<directory>/mailroom.yaml`, or the file itself when `directory` names a file.
    public static func directory(_ directory: String) throws -> SpecText {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw SpecFileError("there is no directory \(directory)", hint: "pass the directory that holds \(fileName)")
        }
        let path = isDirectory.boolValue ? path(directory: directory) : directory
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpecFileError(
                "there is no \(fileName) in \(directory)",
                hint: "pass the directory that holds \(fileName), or the file itself")
        }
        return SpecText(String(decoding: data, as: UTF8.self), file: path)
    }

    /// The commit recorded for a spec that does not come from git: `local:` and the first
    /// 12 hex digits of the SHA-256 of its text, so the same text always gets the same name.
    public var localCommit: String {
        "local:" + hex(SHA256.hash(data: Data(text.utf8))).prefix(12)
    }
}

/// A spec that cannot be read at all: no such directory or file.
public struct SpecFileError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var hint: String

    public init(_ message: String, hint: String) {
        self.message = message
        self.hint = hint
    }

    public var description: String { "\(message) (\(hint))" }
}
