import Foundation
import MailroomSupport

/// What Mailroom last applied on this host, kept in the state directory (`applied.json`).
/// Plan diffs against it field by field; apply rewrites it after every successful step.
public struct AppliedState: Sendable, Equatable, Codable {
    public var commit: String?
    public var rolloutID: String?
    public var applicationVersion: String?
    public var containers: [String: AppliedContainer] = [:]
    /// Every file Mailroom generated, so a file that leaves the spec can be deleted (and nothing else).
    public var files: [String] = []
    /// The application's objects Mailroom manages (`user alice@example.com`): only these are
    /// ever updated or deleted.
    public var objects: [String: AppliedObject] = [:]

    public init() {}

    enum CodingKeys: String, CodingKey {
        case commit, rolloutID, applicationVersion, containers, files, objects
    }

    /// Records written before a field existed read it as empty.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        commit = try c.decodeIfPresent(String.self, forKey: .commit)
        rolloutID = try c.decodeIfPresent(String.self, forKey: .rolloutID)
        applicationVersion = try c.decodeIfPresent(String.self, forKey: .applicationVersion)
        containers = try c.decodeIfPresent([String: AppliedContainer].self, forKey: .containers) ?? [:]
        files = try c.decodeIfPresent([String].self, forKey: .files) ?? []
        objects = try c.decodeIfPresent([String: AppliedObject].self, forKey: .objects) ?? [:]
    }

    public struct AppliedObject: Sendable, Equatable, Codable {
        /// The declared fields when it was last applied.
        public var fields: [String]
        /// Digest of the write-only field (the password) last written; it is written again only
        /// when the spec's digest differs, so a password changed in the UI is kept.
        public var secretDigest: String?

        public init(fields: [String], secretDigest: String?) {
            self.fields = fields
            self.secretDigest = secretDigest
        }
    }

    public struct AppliedContainer: Sendable, Equatable, Codable {
        public var arguments: [String]
        public var configHash: String
        /// The container's id when it was applied or adopted; a container Mailroom adopted
        /// without recreating it has no labels, so this id is how it is recognised.
        public var containerID: String?

        public init(arguments: [String], configHash: String, containerID: String?) {
            self.arguments = arguments
            self.configHash = configHash
            self.containerID = containerID
        }
    }

    public static func path(in stateDirectory: String) -> String { StateDirectory(stateDirectory).applied }

    /// Reads the record; a missing file is an empty record.
    public static func load(stateDirectory: String) throws -> AppliedState {
        let path = path(in: stateDirectory)
        guard let data = FileManager.default.contents(atPath: path) else { return AppliedState() }
        do {
            return try JSONDecoder().decode(AppliedState.self, from: data)
        } catch {
            throw StateFileError(path: path, reason: "\(error)")
        }
    }
}

/// A state file that exists but cannot be read.
public struct StateFileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot read \(path): \(reason); move it aside to start from an empty record" }
}
