import Foundation

/// The outcome of one subprocess.
public struct ProcessResult: Sendable, Equatable {
    public var arguments: [String]
    public var status: Int32
    public var stdout: Data
    public var stderr: Data

    public var succeeded: Bool { status == 0 }
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// A subprocess that could not be started, or that failed where success was required.
public struct CommandError: Error, Sendable, CustomStringConvertible {
    public var arguments: [String]
    public var status: Int32?
    public var stderr: String

    public var description: String {
        let command = arguments.joined(separator: " ")
        guard let status else { return "could not run \(command): \(stderr)" }
        return "\(command) failed with status \(status)\(stderr.isEmpty ? "" : ": \(stderr)")"
    }
}

/// Runs programs from an argument vector (never through a shell). The only place Mailroom
/// starts processes; host drivers build on it.
public struct ProcessRunner: Sendable {
    /// Sees every command before it runs (tests and benchmarks count podman calls with it).
    public var observer: (@Sendable ([String]) -> Void)?

    public init(observer: (@Sendable ([String]) -> Void)? = nil) {
        self.observer = observer
    }

    /// Finds an executable on `PATH`.
    public static func which(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `arguments[0]` with the rest; waits on a thread outside the cooperative pool.
    public func run(_ arguments: [String], input: Data? = nil) async throws -> ProcessResult {
        observer?(arguments)
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try Self.runBlocking(arguments, input: input) })
            }
        }
    }

    static func runBlocking(_ arguments: [String], input: Data?) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        // Output goes to unlinked temporary files, not pipes: podman leaves conmon running with
        // the child's descriptors, so a pipe would not reach end-of-file when podman exits.
        let out = try AnonymousFile(), err = try AnonymousFile()
        process.standardOutput = out.handle
        process.standardError = err.handle
        let inPipe = input.map { _ in Pipe() }
        process.standardInput = inPipe ?? FileHandle.nullDevice
        do { try process.run() } catch {
            throw CommandError(arguments: arguments, status: nil, stderr: "\(error)")
        }
        if let inPipe, let input {
            inPipe.fileHandleForWriting.write(input)
            try? inPipe.fileHandleForWriting.close()
        }
        process.waitUntilExit()
        return ProcessResult(arguments: arguments, status: process.terminationStatus, stdout: out.contents(), stderr: err.contents())
    }
}

/// A temporary file with no name: created, unlinked at once, read back after the child exits.
private struct AnonymousFile {
    let handle: FileHandle

    init() throws {
        var template = Array((NSTemporaryDirectory() + "mailroom-out-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw CommandError(arguments: [], status: nil, stderr: "cannot create a temporary file") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    func contents() -> Data {
        lseek(handle.fileDescriptor, 0, SEEK_SET)
        return (try? handle.readToEnd()) ?? Data()
    }
}
