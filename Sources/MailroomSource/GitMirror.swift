import CGit2
import Foundation
import MailroomSupport

/// A bare mirror of the remote in the state directory: cloned on first use, fetched afterwards.
///
/// The mirror holds the remote's branches as `refs/heads/*` and its tags as `refs/tags/*`
/// (refspecs `+refs/heads/*:refs/heads/*` and `+refs/tags/*:refs/tags/*`, pruned), so a
/// revision resolves in the mirror exactly as it would in the remote.
///
/// Not thread-safe: `GitSource` uses it under its lock.
final class GitMirror {
    static let remoteName = "origin"
    static let refspecs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]

    let configuration: SourceConfiguration
    private var cached: GitRepositoryHandle?

    init(configuration: SourceConfiguration) {
        self.configuration = configuration
    }

    private var remote: GitRemoteURL { configuration.repository }
    private var path: String { configuration.mirrorPath }

    /// Brings the mirror up to date with the remote: a bare clone the first time, a fetch after.
    ///
    /// A failed first clone leaves no mirror behind; a failed fetch leaves the mirror as it was.
    /// A mirror that cannot be opened or fetched into for a reason that is not the remote's
    /// (objects or refs damaged on disk) is cloned again beside it and swapped in; if that clone
    /// fails too, the first error is thrown and the damaged mirror is kept.
    @discardableResult
    func sync() throws -> GitRepositoryHandle {
        try checkLocalRemote()
        let context = try RemoteCallbackContext(remote: remote, credentials: configuration.credentials)
        let existing: GitRepositoryHandle?
        do { existing = try openExisting() } catch let damage as GitError {
            return try reclone(after: damage, context: context)
        }
        guard let repository = existing else { return try clone(context: context) }
        do {
            try fetch(into: repository, context: context)
        } catch let damage as MirrorDamage {
            return try reclone(after: damage.error, context: context)
        }
        return repository
    }

    /// Why the mirror was last cloned again, once: the caller logs it.
    func takeRepair() -> GitError? {
        defer { repair = nil }
        return repair
    }
    private var repair: GitError?

    /// A fetch that failed in the mirror itself, not at the remote.
    private struct MirrorDamage: Error {
        var error: GitError
    }

    private func reclone(after damage: GitError, context: RemoteCallbackContext) throws -> GitRepositoryHandle {
        cached = nil
        do {
            let repository = try clone(context: context, replacing: true)
            repair = damage
            return repository
        } catch {
            throw damage
        }
    }

    /// The mirror as it is, without contacting the remote; nil when it was never cloned.
    func openExisting() throws -> GitRepositoryHandle? {
        guard FileManager.default.fileExists(atPath: path) else {
            cached = nil  // removed by hand: the next sync clones it again
            return nil
        }
        if let cached { return cached }
        let repository = try GitRepositoryHandle(opening: path) { failure in
            GitError(
                .corruptObject, "the mirror \(path) cannot be opened",
                hint: "remove it; the next fetch clones the repository again",
                detail: failure.message)
        }
        cached = repository
        return repository
    }

    /// The mirror, or an error saying to fetch first.
    func open() throws -> GitRepositoryHandle {
        guard let repository = try openExisting() else {
            throw GitError(
                .stateFile, "no mirror of \(remote) in \(configuration.stateDirectory) yet", hint: "run a fetch first")
        }
        return repository
    }

    /// The local origin's git directory (for watching its refs), or nil for a remote.
    func localGitDirectory() throws -> String? {
        guard remote.isLocal else { return nil }
        try checkLocalRemote()
        let repository = try GitRepositoryHandle(opening: remote.localPath!) { failure in
            GitError(.notARepository, "\(remote) is not a git repository", detail: failure.message)
        }
        return repository.commonDirectory
    }

    // MARK: - Clone and fetch

    /// Names a missing local path or a directory that is not a repository before libgit2 gives a vaguer error.
    private func checkLocalRemote() throws {
        guard let local = remote.localPath else { return }
        guard FileManager.default.fileExists(atPath: local) else {
            throw GitError(.unreachable, "there is no repository at \(local)", hint: "check --repo")
        }
        LibGit2.ensureInitialized()
        var out: OpaquePointer?
        let rc = git_repository_open_ext(&out, local, UInt32(GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue), nil)
        if rc < 0 {
            let failure = LibGit2Failure.last(rc)
            throw GitError(
                .notARepository, "\(local) is not a git repository",
                hint: "point --repo at a bare repository or a clone's top directory", detail: failure.message)
        }
        git_repository_free(out)
    }

    private func clone(context: RemoteCallbackContext, replacing: Bool = false) throws -> GitRepositoryHandle {
        let fileManager = FileManager.default
        do {
            try fileManager.createDirectory(atPath: configuration.stateDirectory, withIntermediateDirectories: true)
        } catch {
            throw GitError(
                .stateFile, "cannot create the state directory \(configuration.stateDirectory)", detail: "\(error)")
        }
        removeStaleClones()
        // Clone into a temporary directory and rename it into place, so an interrupted or failed
        // clone never leaves a half-filled mirror behind.
        let temp = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? fileManager.removeItem(atPath: temp) }
        do {
            let repository = try GitRepositoryHandle(creatingBareAt: temp) { failure in
                GitError(.stateFile, "cannot create a mirror in \(temp)", detail: failure.message)
            }
            var remoteOut: OpaquePointer?
            try gitCheck(
                git_remote_create_with_fetchspec(
                    &remoteOut, repository.pointer, Self.remoteName, remote.url, Self.refspecs[0])
            ) {
                GitError(.invalidURL, "libgit2 does not accept the URL \(remote)", detail: $0.message)
            }
            git_remote_free(remoteOut)
            for spec in Self.refspecs.dropFirst() {
                try gitCheck(git_remote_add_fetch(repository.pointer, Self.remoteName, spec)) {
                    GitError(.libgit2, "cannot configure the mirror \(temp)", detail: $0.message)
                }
            }
            // A new mirror cannot be damaged yet: whatever failed, failed at the remote.
            do { try fetch(into: repository, context: context) } catch let damage as MirrorDamage { throw damage.error }
        }
        // A damaged mirror goes aside under a name removeStaleClones knows (a crash here leaves
        // no mirror, which the next fetch clones), then the new one takes its place.
        let aside = "\(path).tmp-damaged-\(getpid())"
        if replacing, rename(path, aside) == 0 { try? fileManager.removeItem(atPath: aside) }
        guard rename(temp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            // Another process cloned at the same time: use its mirror.
            if let existing = try openExisting() { return existing }
            throw GitError(.stateFile, "cannot move the new mirror to \(path)", detail: reason)
        }
        return try open()
    }

    /// Removes temporary clones left by a process that died mid-clone.
    private func removeStaleClones() {
        let directory = configuration.stateDirectory
        let prefix = (path as NSString).lastPathComponent + ".tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(prefix) {
            try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(name))
        }
    }

    private func fetch(into repository: GitRepositoryHandle, context: RemoteCallbackContext) throws {
        let remoteHandle = try lookupRemote(in: repository)
        let rc = context.withFetchOptions { options in
            git_remote_fetch(remoteHandle.pointer, nil, options, "mailroom: fetch")
        }
        guard rc < 0 else { return }
        let failure = LibGit2Failure.last(rc)
        let error = fetchError(failure, context: context)
        // Not the network, not the credentials: perhaps the mirror's own files.
        let remoteSide =
            context.failure != nil || failure.is(GIT_EAUTH) || failure.is(GIT_ECERTIFICATE)
            || failure.in(GIT_ERROR_NET, GIT_ERROR_SSH, GIT_ERROR_HTTP, GIT_ERROR_CALLBACK)
        throw remoteSide ? error : MirrorDamage(error: error)
    }

    /// The mirror's remote, pointed at the configured URL (which may have changed since the clone).
    private func lookupRemote(in repository: GitRepositoryHandle) throws -> GitRemoteHandle {
        func lookup() throws -> GitRemoteHandle {
            var out: OpaquePointer?
            try gitCheck(git_remote_lookup(&out, repository.pointer, Self.remoteName)) {
                GitError(
                    .corruptObject, "the mirror \(path) has no remote '\(Self.remoteName)'",
                    hint: "remove the mirror; the next fetch clones the repository again", detail: $0.message)
            }
            return GitRemoteHandle(out!)
        }
        let handle = try lookup()
        guard handle.url != remote.url else { return handle }
        try gitCheck(git_remote_set_url(repository.pointer, Self.remoteName, remote.url)) {
            GitError(.invalidURL, "cannot point the mirror at \(remote)", detail: $0.message)
        }
        return try lookup()
    }

    private func fetchError(_ failure: LibGit2Failure, context: RemoteCallbackContext) -> GitError {
        if let refused = context.failure { return refused }
        let hint = "check --repo, the network, and that the repository exists"
        if failure.is(GIT_EAUTH) {
            return GitError(
                .authentication, "\(remote) refused the credentials", hint: "check the token or key and its access",
                detail: failure.message)
        }
        if failure.is(GIT_ECERTIFICATE) {
            return GitError(
                .tlsCertificate, "the TLS certificate of \(remote) is not valid",
                hint: "check the server's certificate and the system CA store", detail: failure.message)
        }
        if failure.isCorruption {
            return GitError(
                .corruptObject, "an object fetched from \(remote) is corrupt",
                hint: "run 'git fsck' in the remote repository", detail: failure.message)
        }
        if remote.isLocal, failure.is(GIT_ENOTFOUND) || failure.in(GIT_ERROR_REPOSITORY) {
            return GitError(
                .notARepository, "\(remote) is not a readable git repository", hint: hint, detail: failure.message)
        }
        return GitError(.unreachable, "cannot fetch from \(remote)", hint: hint, detail: failure.message)
    }

    // MARK: - Resolving revisions

    /// The commit at the tip of `branch`.
    func commit(onBranch branch: String, in repository: GitRepositoryHandle) throws -> GitCommitHandle {
        var ref: OpaquePointer?
        let rc = git_reference_lookup(&ref, repository.pointer, "refs/heads/\(branch)")
        if rc == GIT_ENOTFOUND.rawValue {
            let branches = self.branches(in: repository)
            let known =
                branches.isEmpty ? "it has no branches" : "its branches: " + branches.prefix(10).joined(separator: ", ")
            throw GitError(
                .missingBranch, "the branch '\(branch)' does not exist in \(remote)",
                hint: "push it, or pass --branch with an existing branch (\(known))")
        }
        try gitCheck(rc) {
            GitError(.missingBranch, "cannot read the branch '\(branch)' of \(remote)", detail: $0.message)
        }
        let reference = GitReferenceHandle(ref!)
        var object: OpaquePointer?
        try gitCheck(git_reference_peel(&object, reference.pointer, GIT_OBJECT_COMMIT)) { failure in
            failure.isCorruption
                ? GitError(
                    .corruptObject, "the tip of '\(branch)' in the mirror \(path) is corrupt",
                    hint: "remove the mirror; the next fetch clones the repository again", detail: failure.message)
                : GitError(
                    .missingBranch, "the branch '\(branch)' of \(remote) does not point to a commit",
                    detail: failure.message)
        }
        return GitCommitHandle(object!, in: repository)
    }

    /// The commit that `revision` (a commit id, tag, branch, or any git revision expression) names.
    func commit(atRevision revision: String, in repository: GitRepositoryHandle) throws -> GitCommitHandle {
        var out: OpaquePointer?
        let rc = git_revparse_single(&out, repository.pointer, revision)
        if rc < 0 {
            let failure = LibGit2Failure.last(rc)
            if failure.is(GIT_EAMBIGUOUS) {
                throw GitError(
                    .missingRevision, "the revision '\(revision)' is ambiguous in \(remote)",
                    hint: "give more digits of the commit id")
            }
            throw GitError(
                .missingRevision, "the revision '\(revision)' is not a commit, tag or branch of \(remote)",
                hint: "name a commit id, tag or branch, or an expression on one such as main~1; "
                    + "the mirror fetches tags and branches only, so HEAD and other refs are not there",
                detail: failure.message)
        }
        let object = GitObjectHandle(out!)
        var peeled: OpaquePointer?
        try gitCheck(git_object_peel(&peeled, object.pointer, GIT_OBJECT_COMMIT)) {
            GitError(
                .missingRevision, "the revision '\(revision)' of \(remote) does not name a commit", detail: $0.message)
        }
        return GitCommitHandle(peeled!, in: repository)
    }

    /// Looks a commit up by id; nil when the mirror doesn't have it (e.g. after a force-push and gc).
    func commit(_ id: GitObjectID, in repository: GitRepositoryHandle) -> GitCommitHandle? {
        var oid = id.oid
        var out: OpaquePointer?
        guard git_commit_lookup(&out, repository.pointer, &oid) == 0, let out else { return nil }
        return GitCommitHandle(out, in: repository)
    }

    /// Whether `commit` descends from `ancestor` (false when they are equal).
    func isDescendant(_ commit: GitCommitHandle, of ancestor: GitCommitHandle) throws -> Bool {
        let rc = git_graph_descendant_of(
            commit.repository.pointer, git_commit_id(commit.pointer), git_commit_id(ancestor.pointer))
        try gitCheck(rc) {
            GitError(
                .corruptObject,
                "cannot walk the history between \(ancestor.id.short) and \(commit.id.short) in \(path)",
                detail: $0.message)
        }
        return rc == 1
    }

    private func branches(in repository: GitRepositoryHandle) -> [String] {
        var names = git_strarray()
        guard git_reference_list(&names, repository.pointer) == 0 else { return [] }
        defer { git_strarray_dispose(&names) }
        return (0..<names.count).compactMap { i in
            names.strings[i].map { String(cString: $0) }
        }.filter { $0.hasPrefix("refs/heads/") }.map { String($0.dropFirst("refs/heads/".count)) }.sorted()
    }

    // MARK: - Reading trees

    /// The tree of the spec directory at `commit`; nil if the path doesn't exist there and `required` is false.
    func specTree(at commit: GitCommitHandle, required: Bool = true) throws -> GitTreeHandle? {
        let repository = commit.repository
        var rootOut: OpaquePointer?
        try gitCheck(git_commit_tree(&rootOut, commit.pointer)) {
            GitError(
                .corruptObject, "the tree of commit \(commit.id.short) in \(path) cannot be read",
                hint: "remove the mirror; the next fetch clones the repository again", detail: $0.message)
        }
        let root = GitTreeHandle(rootOut!, in: repository)
        let specPath = configuration.specPath
        guard !specPath.isEmpty else { return root }
        var entryOut: OpaquePointer?
        let rc = git_tree_entry_bypath(&entryOut, root.pointer, specPath)
        if rc == GIT_ENOTFOUND.rawValue {
            guard required else { return nil }
            throw GitError(
                .missingPath, "the spec path '\(specPath)' does not exist at commit \(commit.id.short) of \(remote)",
                hint: "check --path; it is relative to the repository root")
        }
        try gitCheck(rc) {
            GitError(.corruptObject, "cannot read '\(specPath)' at commit \(commit.id.short)", detail: $0.message)
        }
        let entry = GitTreeEntryHandle(entryOut!)
        let mode = git_tree_entry_filemode(entry.pointer)
        if mode == GIT_FILEMODE_LINK {
            throw GitError(
                .symlink, "the spec path '\(specPath)' is a symbolic link at commit \(commit.id.short)",
                hint: "point --path at the real directory")
        }
        if mode == GIT_FILEMODE_COMMIT {
            throw GitError(
                .submodule, "the spec path '\(specPath)' is a submodule at commit \(commit.id.short)",
                hint: "submodules are not followed; keep the spec in this repository")
        }
        guard mode == GIT_FILEMODE_TREE else {
            throw GitError(
                .missingPath, "the spec path '\(specPath)' is a file, not a directory, at commit \(commit.id.short)",
                hint: "pass the directory that holds \(SpecText.fileName) with --path")
        }
        var treeOut: OpaquePointer?
        try gitCheck(git_tree_lookup(&treeOut, repository.pointer, git_tree_entry_id(entry.pointer))) {
            GitError(
                .corruptObject, "the tree of '\(specPath)' at commit \(commit.id.short) cannot be read",
                detail: $0.message)
        }
        return GitTreeHandle(treeOut!, in: repository)
    }

    /// Reads every file under the spec path at `commit`, enforcing the limits and refusing links and submodules.
    func snapshot(at commit: GitCommitHandle) throws -> SpecSnapshot {
        let tree = try specTree(at: commit)!
        var odbOut: OpaquePointer?
        try gitCheck(git_repository_odb(&odbOut, commit.repository.pointer)) {
            GitError(.corruptObject, "cannot open the object database of \(path)", detail: $0.message)
        }
        var reader = TreeReader(
            commit: commit.id, specPath: configuration.specPath, limits: configuration.limits,
            odb: GitODBHandle(odbOut!), repository: commit.repository)
        try reader.read(tree, prefix: "", depth: 0)
        guard reader.files[SpecText.fileName] != nil else {
            let place = configuration.specPath.isEmpty ? "the repository root" : "'\(configuration.specPath)'"
            throw GitError(
                .missingSpecFile,
                "there is no \(SpecText.fileName) in \(place) at commit \(commit.id.short) of \(remote)",
                hint: "check --path, or add \(SpecText.fileName) there")
        }
        return SpecSnapshot(commit: commit.id, specPath: configuration.specPath, tree: tree.id, files: reader.files)
    }

    /// The files that differ under the spec path between two commits.
    func diff(from old: GitCommitHandle, to new: GitCommitHandle) throws -> SpecDiff {
        let oldTree = try specTree(at: old, required: false)
        let newTree = try specTree(at: new, required: false)
        if oldTree == nil, newTree == nil {
            throw GitError(
                .missingPath,
                "the spec path '\(configuration.specPath)' exists at neither \(old.id.short) nor \(new.id.short)",
                hint: "check --path")
        }
        var options = git_diff_options()
        git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION))
        var diffOut: OpaquePointer?
        try gitCheck(
            git_diff_tree_to_tree(&diffOut, new.repository.pointer, oldTree?.pointer, newTree?.pointer, &options)
        ) {
            GitError(
                .corruptObject, "cannot compare \(old.id.short) and \(new.id.short) in \(path)", detail: $0.message)
        }
        let diff = GitDiffHandle(diffOut!)
        try gitCheck(git_diff_find_similar(diff.pointer, nil)) {
            GitError(
                .corruptObject, "cannot detect renames between \(old.id.short) and \(new.id.short)", detail: $0.message)
        }
        var changes: [SpecFileChange] = []
        for index in 0..<git_diff_num_deltas(diff.pointer) {
            guard let delta = git_diff_get_delta(diff.pointer, index)?.pointee else { continue }
            let newPath = delta.new_file.path.map { String(cString: $0) } ?? ""
            let oldPath = delta.old_file.path.map { String(cString: $0) } ?? newPath
            switch delta.status {
            case GIT_DELTA_ADDED, GIT_DELTA_COPIED: changes.append(SpecFileChange(.added, path: newPath))
            case GIT_DELTA_DELETED: changes.append(SpecFileChange(.deleted, path: oldPath))
            case GIT_DELTA_RENAMED: changes.append(SpecFileChange(.renamed, path: newPath, oldPath: oldPath))
            case GIT_DELTA_TYPECHANGE: changes.append(SpecFileChange(.typeChanged, path: newPath))
            case GIT_DELTA_UNMODIFIED, GIT_DELTA_IGNORED, GIT_DELTA_UNTRACKED, GIT_DELTA_UNREADABLE: continue
            default: changes.append(SpecFileChange(.modified, path: newPath))
            }
        }
        changes.sort { $0.path < $1.path }
        return SpecDiff(from: old.id, to: new.id, specPath: configuration.specPath, changes: changes)
    }
}

/// Walks a spec tree, collecting regular files and refusing anything else.
private struct TreeReader {
    let commit: GitObjectID
    let specPath: String
    let limits: SpecReadLimits
    let odb: GitODBHandle
    let repository: GitRepositoryHandle
    var files: [String: Data] = [:]
    var totalSize = 0

    /// The deepest directory nesting accepted; bounds the recursion.
    static let maxDepth = 32

    private func repositoryPath(_ relative: String) -> String {
        specPath.isEmpty ? relative : "\(specPath)/\(relative)"
    }

    mutating func read(_ tree: GitTreeHandle, prefix: String, depth: Int) throws {
        guard depth <= Self.maxDepth else {
            throw GitError(
                .tooLarge,
                "'\(repositoryPath(prefix))' at commit \(commit.short) is nested deeper than \(Self.maxDepth) directories",
                hint: "flatten the spec directory")
        }
        for index in 0..<git_tree_entrycount(tree.pointer) {
            guard let entry = git_tree_entry_byindex(tree.pointer, index) else { continue }
            let name = String(cString: git_tree_entry_name(entry))
            let relative = prefix.isEmpty ? name : "\(prefix)/\(name)"
            let mode = git_tree_entry_filemode(entry)
            switch mode {
            case GIT_FILEMODE_TREE:
                var out: OpaquePointer?
                try gitCheck(git_tree_lookup(&out, repository.pointer, git_tree_entry_id(entry))) {
                    GitError(
                        .corruptObject,
                        "the directory '\(repositoryPath(relative))' at commit \(commit.short) cannot be read",
                        detail: $0.message)
                }
                try read(GitTreeHandle(out!, in: repository), prefix: relative, depth: depth + 1)
            case GIT_FILEMODE_BLOB, GIT_FILEMODE_BLOB_EXECUTABLE:
                files[relative] = try readBlob(git_tree_entry_id(entry), path: relative)
            case GIT_FILEMODE_LINK:
                throw GitError(
                    .symlink, "'\(repositoryPath(relative))' is a symbolic link at commit \(commit.short)",
                    hint: "spec files must be regular files; commit a copy instead of the link")
            case GIT_FILEMODE_COMMIT:
                throw GitError(
                    .submodule, "'\(repositoryPath(relative))' is a submodule at commit \(commit.short)",
                    hint: "submodules are not followed; commit the files into the spec path")
            default:
                throw GitError(
                    .corruptObject,
                    "'\(repositoryPath(relative))' has the unknown file mode \(String(mode.rawValue, radix: 8)) at commit \(commit.short)"
                )
            }
        }
    }

    private mutating func readBlob(_ oid: UnsafePointer<git_oid>, path relative: String) throws -> Data {
        let shown = repositoryPath(relative)
        guard files.count < limits.maxFiles else {
            throw GitError(
                .tooLarge, "the spec path holds more than \(limits.maxFiles) files at commit \(commit.short)",
                hint: "keep only the spec's files under --path")
        }
        // Read the size from the object header first, so an oversized blob is never loaded.
        var size = 0
        var type = GIT_OBJECT_ANY
        try gitCheck(git_odb_read_header(&size, &type, odb.pointer, oid)) {
            GitError(
                .corruptObject,
                "the file '\(shown)' (\(hexString(oid).prefix(12))) at commit \(commit.short) cannot be read",
                hint: "remove the mirror; the next fetch clones the repository again", detail: $0.message)
        }
        guard size <= limits.maxFileSize else {
            throw GitError(
                .tooLarge,
                "the file '\(shown)' is \(size) bytes at commit \(commit.short), over the limit of \(limits.maxFileSize) bytes",
                hint: "keep large files out of the spec path")
        }
        totalSize += size
        guard totalSize <= limits.maxTotalSize else {
            throw GitError(
                .tooLarge,
                "the files under the spec path are over \(limits.maxTotalSize) bytes together at commit \(commit.short)",
                hint: "keep large files out of the spec path")
        }
        var out: OpaquePointer?
        try gitCheck(git_blob_lookup(&out, repository.pointer, oid)) {
            GitError(
                .corruptObject, "the file '\(shown)' at commit \(commit.short) cannot be read",
                hint: "remove the mirror; the next fetch clones the repository again", detail: $0.message)
        }
        let blob = GitBlobHandle(out!, in: repository)
        let length = Int(git_blob_rawsize(blob.pointer))
        guard length > 0, let content = git_blob_rawcontent(blob.pointer) else { return Data() }
        return Data(bytes: content, count: length)
    }
}
