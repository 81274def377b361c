import Crypto
import Foundation
import MailroomHost
import MailroomRender
import MailroomSpec
import MailroomSupport

/// Reads the actual state: two podman calls (containers, networks) plus one batched inspect
/// only for containers Mailroom has no record of; files and directories from disk.
public struct Observer: Sendable {
    public var engine: (any ContainerEngine)?
    public var host: HostPaths
    /// Whether systemd owns the containers; `nil` detects it (systemd as PID 1).
    public var systemd: Bool?

    public init(engine: (any ContainerEngine)?, host: HostPaths, systemd: Bool? = nil) {
        self.engine = engine
        self.host = host
        self.systemd = systemd
    }

    public func observe(_ desired: DesiredState) async throws -> ActualState {
        let applied = try AppliedState.load(stateDirectory: host.stateDirectory)
        var network: NetworkSummary?
        var containers: [String: ObservedContainer] = [:]
        // The object export runs beside `ps` rather than after it: its answer counts only if
        // `ps` says the container runs.
        async let exported = Self.export(desired.objects, engine: engine)
        if let engine {
            async let listed = engine.listContainers()
            async let networks = engine.listNetworks()
            network = try await networks.first { $0.name == desired.network.name }
            for summary in try await listed {
                let record = applied.containers[summary.name]
                let adopted = record?.containerID.map { summary.id.hasPrefix($0) || $0.hasPrefix(summary.id) } ?? false
                let labelled = summary.labels[PodmanArguments.managedLabel] == "true"
                containers[summary.name] = ObservedContainer(
                    summary: summary, inspection: nil, managed: labelled || adopted,
                    configHash: summary.labels[PodmanArguments.hashLabel] ?? (adopted ? record?.configHash : nil))
            }
            // Inspect only what the record cannot explain: containers of the spec made outside
            // Mailroom, or whose hash no longer matches what Mailroom applied.
            let wanted = desired.containers.map(\.name).filter { name in
                guard let observed = containers[name] else { return false }
                guard observed.managed, let record = applied.containers[name] else { return true }
                return observed.configHash != record.configHash
            }
            for inspection in try await engine.inspectContainers(wanted) {
                let name = inspection.name.hasPrefix("/") ? String(inspection.name.dropFirst()) : inspection.name
                containers[name]?.inspection = inspection
            }
        }

        var files: [String: ObservedFile] = [:]
        let paths = desired.files.map(\.path) + desired.units.map(\.path) + applied.files
        for path in paths where files[path] == nil { files[path] = Self.readFile(path) }

        // A missing directory that apply creates is hashed as the empty directory it will be,
        // so the first apply's hashes still hold after it created the directories.
        let created = Set(desired.directories.map(\.trimmingTrailingSlash))
        var digests: [String: String] = [:]
        for input in desired.containers.flatMap(\.contentInputs) where digests[input] == nil {
            let digest = Self.digest(of: input)
            digests[input] =
                digest == "missing" && created.contains(input.trimmingTrailingSlash)
                ? Self.emptyDirectoryDigest : digest
        }
        let missing = desired.directories.filter { !Self.isDirectory($0) }
        var actual = ActualState(
            engine: (engine as? PodmanCLI)?.executable ?? (engine == nil ? nil : "podman"), network: network,
            containers: containers, files: files, contentDigests: digests, missingDirectories: missing,
            applied: applied,
            systemd: systemd ?? Systemctl.systemdIsPID1())
        actual.missingKeys = desired.keys.map(\.path).filter { !FileManager.default.fileExists(atPath: $0) }
        if let store = desired.objects {
            let running = containers[store.container]?.isRunning
            actual.objects =
                running == true ? await exported : await Self.objects(store, engine: engine, running: running)
        } else {
            _ = await exported
        }
        return actual
    }

    private static func export(_ store: ObjectStore?, engine: (any ContainerEngine)?) async -> ObservedObjects? {
        guard let store, let engine else { return nil }
        return await objects(store, engine: engine, running: true)
    }

    /// The application's objects, through its export command in the store's container: one
    /// `podman container exec`, only when that container runs.
    public static func objects(_ store: ObjectStore, engine: (any ContainerEngine)?, running: Bool?) async
        -> ObservedObjects
    {
        guard let engine else { return .unavailable("without podman, \(store.container) cannot be asked") }
        guard running == true else {
            return .unavailable("\(store.container) is not running yet; its objects are read once it is healthy")
        }
        do {
            let result = try await engine.execute(["container", "exec", store.container] + store.exportCommand)
            return try ObservedObjects.parse(result.stdout, kinds: store.kinds)
        } catch let error as CommandError {
            let said = error.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").suffix(3)
            return .unavailable(
                "\(store.exportCommand.joined(separator: " ")) in \(store.container) failed"
                    + (said.isEmpty ? "" : ": " + said.joined(separator: " / ")))
        } catch {
            return .unavailable("the export of \(store.container) is not JSON: \(error)")
        }
    }

    static func readFile(_ path: String) -> ObservedFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            return ObservedFile(content: nil, mode: nil)
        }
        var info = stat()
        let mode = stat(path, &info) == 0 ? Int(info.st_mode & 0o7777) : nil
        return ObservedFile(content: String(decoding: data, as: UTF8.self), mode: mode)
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Digest of a file, or of a directory tree (relative names, modes and contents, sorted).
    /// A missing path has its own digest, so creating it counts as a change.
    static func digest(of path: String) -> String {
        var hasher = SHA256()
        let manager = FileManager.default
        if isDirectory(path) {
            let root = path.trimmingTrailingSlash
            let entries = (manager.enumerator(atPath: root)?.allObjects as? [String] ?? []).sorted()
            for entry in entries {
                let full = "\(root)/\(entry)"
                var info = stat()
                guard lstat(full, &info) == 0 else { continue }
                hasher.update(data: Array("\(entry)\0\(info.st_mode & 0o170777)\0".utf8))
                if info.st_mode & S_IFMT == S_IFREG, let data = manager.contents(atPath: full) {
                    hasher.update(data: data)
                } else if info.st_mode & S_IFMT == S_IFLNK,
                    let target = try? manager.destinationOfSymbolicLink(atPath: full)
                {
                    hasher.update(data: Array(target.utf8))
                }
                hasher.update(data: [0])
            }
        } else if let data = manager.contents(atPath: path) {
            hasher.update(data: Array("file\0".utf8))
            hasher.update(data: data)
        } else {
            return "missing"
        }
        return hex(hasher.finalize())
    }

    static let emptyDirectoryDigest = hex(SHA256().finalize())

    /// The test systemd's own `sd_booted()` uses.
}
