import CGit2
import MailroomSupport

/// Process-wide libgit2 set-up.
enum LibGit2 {
    // A global `let` is initialised once, thread-safely. `git_libgit2_init` is ref-counted and
    // never balanced: libgit2 stays up for the life of the process.
    private static let initialized: Bool = {
        git_libgit2_init()
        // The agent may run as another user than the one owning the repositories it reads.
        _ = cgit2_set_owner_validation(0)
        return true
    }()

    /// Initialises libgit2 if it isn't yet; call before any other libgit2 function.
    static func ensureInitialized() {
        _ = initialized
    }

    /// Whether libgit2 was built with SSH support (libssh2).
    static var supportsSSH: Bool {
        ensureInitialized()
        return git_libgit2_features() & Int32(GIT_FEATURE_SSH.rawValue) != 0
    }
}

/// A libgit2 failure as reported by `git_error_last()`, captured on the failing thread.
struct LibGit2Failure: Sendable, CustomStringConvertible {
    /// The return code (`GIT_ENOTFOUND`, `GIT_EAUTH`, ...).
    var code: Int32
    /// The error class (`GIT_ERROR_NET`, `GIT_ERROR_ODB`, ...).
    var errorClass: Int32
    var message: String

    /// Reads the thread's last libgit2 error; call right after the failing call.
    static func last(_ code: Int32) -> LibGit2Failure {
        guard let error = git_error_last() else {
            return LibGit2Failure(code: code, errorClass: 0, message: "libgit2 error \(code)")
        }
        let message = error.pointee.message.map { String(cString: $0) } ?? "libgit2 error \(code)"
        return LibGit2Failure(code: code, errorClass: error.pointee.klass, message: message)
    }

    var description: String { message }

    func `is`(_ code: git_error_code) -> Bool { self.code == code.rawValue }
    func `in`(_ classes: git_error_t...) -> Bool { classes.contains { Int32($0.rawValue) == errorClass } }

    /// Errors that come from reading a damaged object or pack.
    var isCorruption: Bool {
        `is`(GIT_EMISMATCH) || `in`(GIT_ERROR_ODB, GIT_ERROR_ZLIB, GIT_ERROR_OBJECT, GIT_ERROR_INDEXER)
    }
}

/// Throws the error built by `makeError` when a libgit2 call returned a negative code.
@discardableResult
func gitCheck(_ rc: Int32, _ makeError: (LibGit2Failure) -> GitError) throws -> Int32 {
    guard rc < 0 else { return rc }
    throw makeError(LibGit2Failure.last(rc))
}

/// The 40-digit hex form of an object id, without `git_oid_tostr_s`'s per-thread buffer.
func hexString(_ oid: UnsafePointer<git_oid>) -> String {
    var buffer = [CChar](repeating: 0, count: Int(GIT_OID_HEXSZ))
    git_oid_fmt(&buffer, oid)  // writes exactly 40 digits, no terminator
    return String(decoding: buffer.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
