import Foundation
import MailroomSupport

/// Podman with reads over its REST socket and changes through the CLI. Each read is one HTTP
/// request to a running `podman system service` (the guide enables `podman.socket`), about
/// 10 ms against ~40 ms for a `podman` process; every change still runs as a `podman`
/// command, argv only, so it is logged and counted like any other.
public struct PodmanSocket: ContainerEngine {
    public static let defaultPath = "/run/podman/podman.sock"

    public var socketPath: String
    public var cli: PodmanCLI

    public init(socketPath: String, cli: PodmanCLI) {
        self.socketPath = socketPath
        self.cli = cli
    }

    /// The socket at `MAILROOM_PODMAN_SOCKET` or `/run/podman/podman.sock`, if a service answers there.
    public static func locate(cli: PodmanCLI) async -> PodmanSocket? {
        let path = ProcessInfo.processInfo.environment["MAILROOM_PODMAN_SOCKET"] ?? defaultPath
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let engine = PodmanSocket(socketPath: path, cli: cli)
        guard let ping = try? await engine.get("/_ping"), ping.status == 200 else { return nil }
        return engine
    }

    public func listContainers() async throws -> [ContainerSummary] {
        try decode(try await get("/v4.0.0/libpod/containers/json?all=true"))
    }

    public func listNetworks() async throws -> [NetworkSummary] {
        try decode(try await get("/v4.0.0/libpod/networks/json"))
    }

    public func inspectContainers(_ names: [String]) async throws -> [ContainerInspection] {
        try await withThrowingTaskGroup(of: ContainerInspection?.self) { group in
            for name in names {
                group.addTask {
                    let escaped = name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? name
                    let response = try await get("/v4.0.0/libpod/containers/\(escaped)/json")
                    if response.status == 404 { return nil }
                    guard response.status == 200,
                        let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
                    else {
                        throw CommandError(
                            arguments: ["GET", "containers/\(name)/json"], status: Int32(response.status),
                            stderr: response.text)
                    }
                    return ContainerInspection(json: object)
                }
            }
            var found: [ContainerInspection] = []
            for try await inspection in group { if let inspection { found.append(inspection) } }
            return found
        }
    }

    public func imageExists(_ reference: String) async throws -> Bool {
        let escaped = reference.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? reference
        let response = try await get("/v4.0.0/libpod/images/\(escaped)/exists")
        switch response.status {
        case 204: return true
        case 404: return false
        default:
            throw CommandError(
                arguments: ["GET", "images/\(reference)/exists"], status: Int32(response.status), stderr: response.text)
        }
    }

    /// A pull changes the host's image store: through the CLI, like every change.
    public func pullImage(_ reference: String) async throws {
        try await cli.pullImage(reference)
    }

    @discardableResult
    public func execute(_ arguments: [String], input: Data?) async throws -> ProcessResult {
        try await cli.execute(arguments, input: input)
    }

    // MARK: - HTTP/1.0 over the unix socket (the server closes the connection after the reply)

    struct Response {
        var status: Int
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    private func decode<T: Decodable>(_ response: Response) throws -> [T] {
        guard response.status == 200 else {
            throw CommandError(arguments: ["GET", socketPath], status: Int32(response.status), stderr: response.text)
        }
        if response.body.isEmpty || response.text.trimmingCharacters(in: .whitespacesAndNewlines) == "null" {
            return []
        }
        return try JSONDecoder().decode([T].self, from: response.body)
    }

    func get(_ path: String) async throws -> Response {
        let socketPath = socketPath
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try Self.request(socketPath: socketPath, path: path) })
            }
        }
    }

    static func request(socketPath: String, path: String) throws -> Response {
        func failure(_ what: String) -> CommandError {
            CommandError(
                arguments: ["GET", "unix://\(socketPath)\(path)"], status: nil,
                stderr: "\(what): \(String(cString: strerror(errno)))")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw failure("socket") }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw failure("socket path too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in pathBytes.enumerated() { buffer[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else { throw failure("connect") }
        guard writeAll(fd, Data("GET \(path) HTTP/1.0\r\nHost: podman\r\n\r\n".utf8)) else { throw failure("write") }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n > 0 {
                data.append(contentsOf: buffer[0..<n])
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw failure("read") }
            break
        }
        guard let headerEnd = data.firstRange(of: Data("\r\n\r\n".utf8)) else { throw failure("malformed reply") }
        let statusLine =
            String(decoding: data[..<headerEnd.lowerBound], as: UTF8.self).split(separator: "\r\n").first ?? ""
        let status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return Response(status: status, body: Data(data[headerEnd.upperBound...]))
    }
}
