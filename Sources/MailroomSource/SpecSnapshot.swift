import Foundation
import MailroomSupport

/// The spec directory as it is at one commit, read straight from the commit's tree.
public struct SpecSnapshot: Sendable, Equatable {
    /// The commit the files were read from.
    public let commit: GitObjectID
    /// The spec directory in the repository; `""` is the root.
    public let specPath: String
    /// The spec directory's tree; equal trees mean equal files.
    public let tree: GitObjectID
    /// Every regular file under the spec path, keyed by its path relative to it (`mailroom.yaml`, `overrides/x.cf`).
    public let files: [String: Data]

    public init(commit: GitObjectID, specPath: String, tree: GitObjectID, files: [String: Data]) {
        self.commit = commit
        self.specPath = specPath
        self.tree = tree
        self.files = files
    }

    /// The text of `mailroom.yaml`.
    public var specText: String {
        String(decoding: files[SpecText.fileName] ?? Data(), as: UTF8.self)
    }

    /// Where a file is, for messages: `<commit>:<spec path>/<file>`.
    public func location(of file: String) -> String {
        "\(commit.short):" + (specPath.isEmpty ? file : "\(specPath)/\(file)")
    }

    /// `mailroom.yaml` under the name diagnostics give it: the commit and path.
    public var spec: SpecText {
        SpecText(specText, file: location(of: SpecText.fileName))
    }
}

/// One file that differs under the spec path between two commits.
public struct SpecFileChange: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        case added, modified, deleted, renamed, typeChanged = "type-changed"
    }

    public var kind: Kind
    /// Relative to the spec path; for a rename, the new path.
    public var path: String
    /// For a rename, the old path.
    public var oldPath: String?

    public init(_ kind: Kind, path: String, oldPath: String? = nil) {
        self.kind = kind
        self.path = path
        self.oldPath = oldPath
    }

    public var description: String {
        if let oldPath { return "\(kind.rawValue) \(oldPath) -> \(path)" }
        return "\(kind.rawValue) \(path)"
    }
}

/// How the spec directory differs between two commits.
public struct SpecDiff: Sendable, Equatable {
    public let from: GitObjectID
    public let to: GitObjectID
    public let specPath: String
    /// Sorted by path.
    public let changes: [SpecFileChange]

    public init(from: GitObjectID, to: GitObjectID, specPath: String, changes: [SpecFileChange]) {
        self.from = from
        self.to = to
        self.specPath = specPath
        self.changes = changes
    }

    /// Whether anything under the spec path differs.
    public var specChanged: Bool { !changes.isEmpty }
}

/// The outcome of one fetch: the commit now followed and how it relates to the previous one.
public struct FetchResult: Sendable, Equatable {
    /// The commit the tracked branch (or the pinned revision) resolves to.
    public let commit: GitObjectID
    /// The commit fetched before, when the same branch or revision was followed.
    public let previous: GitObjectID?
    /// The new tip does not descend from the previous one: history was rewritten (force-push).
    public let forced: Bool
    /// The spec directory differs from the previous fetch (always true on the first fetch).
    public let specChanged: Bool
    /// The spec directory at `commit`.
    public let snapshot: SpecSnapshot

    public init(commit: GitObjectID, previous: GitObjectID?, forced: Bool, specChanged: Bool, snapshot: SpecSnapshot) {
        self.commit = commit
        self.previous = previous
        self.forced = forced
        self.specChanged = specChanged
        self.snapshot = snapshot
    }

    /// The followed commit moved since the previous fetch.
    public var isNewCommit: Bool { previous != commit }
}
