import CGit2

// One class per libgit2 handle: each owns its pointer and frees it in `deinit`.
//
// None of them is Sendable. libgit2 objects must not be used from two threads at once, so a
// handle lives inside one call on one thread; `GitSource` serialises those calls with a lock.
// Child objects (commits, trees, blobs) keep their repository alive through `repository`.

/// An open repository (`git_repository *`).
final class GitRepositoryHandle {
    let pointer: OpaquePointer
    /// The path it was opened from, for messages.
    let path: String

    /// Opens the repository at exactly `path` (no search upwards).
    init(opening path: String, makeError: (LibGit2Failure) -> GitError) throws {
        LibGit2.ensureInitialized()
        var out: OpaquePointer?
        try gitCheck(
            git_repository_open_ext(&out, path, UInt32(GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue), nil), makeError)
        self.pointer = out!
        self.path = path
    }

    /// Creates an empty bare repository at `path`.
    init(creatingBareAt path: String, makeError: (LibGit2Failure) -> GitError) throws {
        LibGit2.ensureInitialized()
        var out: OpaquePointer?
        try gitCheck(git_repository_init(&out, path, 1), makeError)
        self.pointer = out!
        self.path = path
    }

    deinit { git_repository_free(pointer) }

    /// The shared git directory (for a bare repository, the repository itself).
    var commonDirectory: String {
        String(cString: git_repository_commondir(pointer))
    }
}

/// A commit (`git_commit *`).
final class GitCommitHandle {
    let pointer: OpaquePointer
    let repository: GitRepositoryHandle

    init(_ pointer: OpaquePointer, in repository: GitRepositoryHandle) {
        self.pointer = pointer
        self.repository = repository
    }

    deinit { git_commit_free(pointer) }

    var id: GitObjectID { GitObjectID(git_commit_id(pointer)) }
}

/// A tree (`git_tree *`).
final class GitTreeHandle {
    let pointer: OpaquePointer
    let repository: GitRepositoryHandle

    init(_ pointer: OpaquePointer, in repository: GitRepositoryHandle) {
        self.pointer = pointer
        self.repository = repository
    }

    deinit { git_tree_free(pointer) }

    var id: GitObjectID { GitObjectID(git_tree_id(pointer)) }
}

/// A tree entry owned by the caller (`git_tree_entry *` from `git_tree_entry_bypath`).
final class GitTreeEntryHandle {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { git_tree_entry_free(pointer) }
}

/// A blob (`git_blob *`).
final class GitBlobHandle {
    let pointer: OpaquePointer
    let repository: GitRepositoryHandle

    init(_ pointer: OpaquePointer, in repository: GitRepositoryHandle) {
        self.pointer = pointer
        self.repository = repository
    }

    deinit { git_blob_free(pointer) }
}

/// Any object (`git_object *`), as `git_revparse_single` returns it.
final class GitObjectHandle {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { git_object_free(pointer) }
}

/// A reference (`git_reference *`).
final class GitReferenceHandle {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { git_reference_free(pointer) }
}

/// A remote (`git_remote *`).
final class GitRemoteHandle {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { git_remote_free(pointer) }

    var url: String? { git_remote_url(pointer).map { String(cString: $0) } }
}

/// The object database (`git_odb *`), for reading object sizes without loading them.
final class GitODBHandle {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { git_odb_free(pointer) }
}

/// A diff (`git_diff *`).
final class GitDiffHandle {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { git_diff_free(pointer) }
}
