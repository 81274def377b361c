import FlyingFox
import FlyingSocks
import Foundation

/// Where the agent listens (and where `mailroom status` finds it): `127.0.0.1:9321`, or an
/// IPv6 address in brackets, `[::1]:9321`. Only numeric addresses: no name lookups.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// The IP address, without brackets.
    public var host: String
    public var port: UInt16

    /// The agent's default: loopback only, port 9321.
    public static let agentDefault = ListenAddress(host: "127.0.0.1", port: 9321)

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` or `[IPV6]:PORT`; nil when it is neither or the address is not numeric.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            return nil  // an IPv6 address without brackets: the port cannot be told apart
        }
        self.init(host: host, port: port)
        guard (try? socketAddress()) != nil else { return nil }
    }

    public var isIPv6: Bool { host.contains(":") }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The socket address FlyingFox binds or connects to.
    func socketAddress() throws -> any SocketAddress {
        isIPv6 ? try sockaddr_in6.inet6(ip6: host, port: port) : try sockaddr_in.inet(ip4: host, port: port)
    }
}
