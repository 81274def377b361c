import Foundation

/// A throwaway origin (bare) repository and a work clone that pushes to it, made with the git
/// command-line tool in a temporary directory. For the benchmark and tests only: the source
/// stage itself reads repositories through libgit2.
package final class ScratchRepository: Sendable {
    /// The temporary directory holding everything; removed by ``remove()``.
    package let root: String
    /// The bare origin, `<root>/origin.git`.
    package let origin: String
    /// A work clone of the origin, `<root>/work`.
    let work: String

    /// Creates the origin and the work clone; `files` become the first commit, pushed to `main`.
    package init(files: [String: String] = ["mailroom.yaml": TestSpecs.minimal]) throws {
        let template = FileManager.default.temporaryDirectory.appendingPathComponent("mailroom-git-XXXXXX").path
        var buffer = Array(template.utf8CString)
        guard let made = mkdtemp(&buffer) else { throw ScratchError("mkdtemp failed for \(template)") }
        root = String(cString: made)
        origin = root + "/origin.git"
        work = root + "/work"
        try Self.git(["init", "--quiet", "--bare", "--initial-branch=main", origin], in: root)
        try Self.git(["init", "--quiet", "--initial-branch=main", work], in: root)
        try git("remote", "add", "origin", origin)
        if !files.isEmpty {
            try commit(files, message: "initial")
            try git("push", "--quiet", "origin", "main")
        }
    }

    /// Removes the temporary directory.
    package func remove() {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Writes `files` (path → content) into the work tree, commits them and returns the commit id.
    @discardableResult
    package func commit(_ files: [String: String], message: String) throws -> String {
        for (path, content) in files {
            let full = work + "/" + path
            try FileManager.default.createDirectory(
                atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(content.utf8).write(to: URL(fileURLWithPath: full))
        }
        try git(["add", "--all"])
        try git(["commit", "--quiet", "--allow-empty", "-m", message])
        return try head()
    }

    /// Commits `files` and pushes `main`; returns the commit id.
    @discardableResult
    func commitAndPush(_ files: [String: String], message: String) throws -> String {
        let id = try commit(files, message: message)
        try git("push", "--quiet", "origin", "main")
        return id
    }

    /// The work clone's `HEAD` commit id.
    package func head() throws -> String {
        try git("rev-parse", "HEAD").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs git in the work clone.
    @discardableResult
    package func git(_ arguments: String...) throws -> String { try git(arguments) }

    @discardableResult
    func git(_ arguments: [String]) throws -> String { try Self.git(arguments, in: work) }

    /// Runs git with a fixed identity and no user or system configuration; returns its output.
    @discardableResult
    static func git(_ arguments: [String], in directory: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ProcessInfo.processInfo.environment
        environment["GIT_CONFIG_NOSYSTEM"] = "1"
        environment["GIT_CONFIG_GLOBAL"] = "/dev/null"
        environment["GIT_AUTHOR_NAME"] = "Mailroom Test"
        environment["GIT_AUTHOR_EMAIL"] = "test@example.org"
        environment["GIT_COMMITTER_NAME"] = "Mailroom Test"
        environment["GIT_COMMITTER_EMAIL"] = "test@example.org"
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Read before waiting, so a full pipe cannot block git.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ScratchError(
                "git \(arguments.joined(separator: " ")) failed in \(directory): "
                    + String(decoding: errorData, as: UTF8.self))
        }
        return String(decoding: data, as: UTF8.self)
    }
}

struct ScratchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
