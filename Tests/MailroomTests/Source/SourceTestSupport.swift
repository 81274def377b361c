import Foundation
import Logging

@testable import MailroomSource
@testable import MailroomTestSupport

/// Log entries captured by one test's logger.
final class LogCapture: @unchecked Sendable {
    // `entries` is only touched under `lock`.
    private let lock = NSLock()
    private var entries: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] = []

    var logger: Logger {
        Logger(label: "test") { _ in CapturingLogHandler(capture: self) }
    }

    func append(_ level: Logger.Level, _ message: String, _ metadata: Logger.Metadata) {
        lock.lock()
        defer { lock.unlock() }
        entries.append((level, message, metadata))
    }

    /// The metadata of each line logged with this message, oldest first.
    func lines(_ message: String) -> [Logger.Metadata] {
        lock.lock()
        defer { lock.unlock() }
        return entries.filter { $0.message == message }.map(\.metadata)
    }

    func messages(at level: Logger.Level) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        return entries.filter { $0.level == level }.map(\.message)
    }
}

struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        capture.append(event.level, "\(event.message)", metadata.merging(event.metadata ?? [:]) { $1 })
    }
}

/// A scratch origin plus a state directory beside it, removed by `remove()`.
struct SourceFixture {
    let repo: ScratchRepository
    var stateDirectory: String { repo.root + "/state" }
    let logs = LogCapture()

    init(files: [String: String] = ["mailroom.yaml": TestSpecs.minimal]) throws {
        repo = try ScratchRepository(files: files)
    }

    func source(
        url: String? = nil, branch: String = "main", revision: String? = nil, path: String = "",
        limits: SpecReadLimits = .default
    ) throws -> GitSource {
        GitSource(
            try SourceConfiguration(
                repository: url ?? repo.origin, branch: branch, revision: revision, path: path,
                stateDirectory: stateDirectory, limits: limits))
    }

    func remove() { repo.remove() }
}

/// Runs `body` and returns the `GitError` it threw, or nil if it threw nothing (or something else).
func gitError<T>(_ body: () throws -> T) -> GitError? {
    do {
        _ = try body()
        return nil
    } catch let error as GitError {
        return error
    } catch {
        return nil
    }
}

/// The contents of a file, or nil.
func fileData(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }
