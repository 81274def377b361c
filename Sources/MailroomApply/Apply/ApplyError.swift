/// Why `apply` or `rollback` could not start. A failed or refused rollout is not an error:
/// it is an `ApplyResult` with its status, recorded in the journal.
public struct ApplyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable name for the class of problem; new codes do not break callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String {
            case locked, rolloutNotFound = "rollout-not-found", specNotArchived = "spec-not-archived"
            case nothingToRollBackTo = "nothing-to-roll-back-to"
        }

        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// Another Mailroom process is applying on this host.
        public static let locked = Code(.locked)
        /// `rollback --to` names no rollout or commit of the journal.
        public static let rolloutNotFound = Code(.rolloutNotFound)
        /// The rollout exists but its spec text is no longer kept.
        public static let specNotArchived = Code(.specNotArchived)
        /// `rollback` without `--to` found no earlier successful rollout with another spec.
        public static let nothingToRollBackTo = Code(.nothingToRollBackTo)

        public var description: String { kind.rawValue }
    }

    public var code: Code
    public var message: String
    /// Where it was thrown, for bug reports.
    public var fileID: String
    public var line: Int

    public init(_ code: Code, _ message: String, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.fileID = fileID
        self.line = line
    }

    public var description: String { message }

    /// Equal when the codes are: the message and the throw site are for people.
    public static func == (a: ApplyError, b: ApplyError) -> Bool { a.code == b.code }

    static func locked(path: String, holder: Int32?, fileID: String = #fileID, line: Int = #line) -> ApplyError {
        let who = holder.map { "process \($0)" } ?? "another process"
        return ApplyError(
            .locked, "\(who) is applying on this host (lock \(path)); wait for it to finish", fileID: fileID, line: line
        )
    }
}
