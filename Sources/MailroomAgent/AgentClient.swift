import FlyingFox
import Foundation

/// Talks to a running agent's listener (`mailroom status`, `resume`, tests), through
/// FlyingFox's client: one request per connection, IPv4 or IPv6.
public enum AgentClient {
    public struct Response: Sendable {
        public var status: Int
        public var body: Data
    }

    /// How long a request may take before it fails: a listener that accepts and never answers
    /// must not hang `mailroom status`.
    public static let defaultTimeout: Duration = .seconds(10)

    /// Sends one request to `host:port` (`host` a numeric IPv4 or IPv6 address); throws after
    /// `timeout` (default ``defaultTimeout``) without an answer.
    public static func send(
        host: String, port: UInt16, method: String, path: String, headers: [String: String] = [:],
        body: Data = Data(), timeout: Duration = defaultTimeout
    ) async throws -> Response {
        try await withThrowingTaskGroup(of: Response.self) { group in
            group.addTask {
                try await exchange(host: host, port: port, method: method, path: path, headers: headers, body: body)
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw AgentError("no answer from \(ListenAddress(host: host, port: port)) within \(timeout)")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    private static func exchange(
        host: String, port: UInt16, method: String, path: String, headers: [String: String],
        body: Data
    ) async throws -> Response {
        let address = ListenAddress(host: host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port: port)
        var fields: [HTTPHeader: String] = [HTTPHeader("Host"): address.description, HTTPHeader("Connection"): "close"]
        for (name, value) in headers { fields[HTTPHeader(name)] = value }
        if !body.isEmpty || method == "POST" { fields[.contentLength] = "\(body.count)" }
        let request = HTTPRequest(
            method: HTTPMethod(method), version: .http11, path: path, query: [], headers: fields, body: body)
        var client = HTTPClient()
        let response = try await client.sendHTTPRequest(request, to: try address.socketAddress())
        return Response(status: response.statusCode.code, body: try await response.bodyData)
    }

    /// GET `path` from the agent at `address`; throws on a status other than 2xx.
    public static func get(_ address: ListenAddress, path: String) async throws -> Data {
        try await checked(host: address.host, port: address.port, method: "GET", path: path)
    }

    /// POST an empty body to `path` of the agent at `address`; throws on a status other than 2xx.
    @discardableResult
    public static func post(_ address: ListenAddress, path: String) async throws -> Data {
        try await checked(host: address.host, port: address.port, method: "POST", path: path)
    }

    /// GET `url` (`http://HOST:PORT/path`); throws on a status other than 2xx.
    public static func get(_ url: URL) async throws -> Data {
        try await checked(url, method: "GET")
    }

    /// POST an empty body to `url`; throws on a status other than 2xx.
    @discardableResult
    public static func post(_ url: URL) async throws -> Data {
        try await checked(url, method: "POST")
    }

    private static func checked(_ url: URL, method: String) async throws -> Data {
        guard let host = url.host, let port = url.port.flatMap({ UInt16(exactly: $0) }) else {
            throw AgentError("expected http://HOST:PORT/path, not \(url)")
        }
        return try await checked(host: host, port: port, method: method, path: url.path.isEmpty ? "/" : url.path)
    }

    private static func checked(host: String, port: UInt16, method: String, path: String) async throws -> Data {
        let response = try await send(host: host, port: port, method: method, path: path)
        guard (200..<300).contains(response.status) else {
            throw AgentError(
                "\(method) \(path) answered \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        return response.body
    }
}
