import FlyingFox
import Foundation

/// Talks to a running agent's listener (`mailroom status`, `resume`, tests), through
/// FlyingFox's client: one request per connection, IPv4 only.
public enum AgentClient {
    public struct Response: Sendable {
        public var status: Int
        public var body: Data
    }

    /// Sends one request to `host:port`.
    public static func send(host: String, port: UInt16, method: String, path: String, headers: [String: String] = [:],
                            body: Data = Data()) async throws -> Response {
        var fields: [HTTPHeader: String] = [HTTPHeader("Host"): "\(host):\(port)", HTTPHeader("Connection"): "close"]
        for (name, value) in headers { fields[HTTPHeader(name)] = value }
        if !body.isEmpty || method == "POST" { fields[.contentLength] = "\(body.count)" }
        let request = HTTPRequest(method: HTTPMethod(method), version: .http11, path: path, query: [], headers: fields, body: body)
        var client = HTTPClient()
        let response = try await client.sendHTTPRequest(request, to: try sockaddr_in.inet(ip4: host, port: port))
        return Response(status: response.statusCode.code, body: try await response.bodyData)
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
        let response = try await send(host: host, port: port, method: method, path: url.path.isEmpty ? "/" : url.path)
        guard (200..<300).contains(response.status) else {
            throw AgentError("\(method) \(url.path) answered \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        return response.body
    }
}
