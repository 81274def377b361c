#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IPv4 or IPv6 address, compared and printed in canonical form.
public enum IPAddress: Sendable, Hashable, CustomStringConvertible {
    case v4(UInt32)
    case v6(high: UInt64, low: UInt64)

    public init?(_ text: String) {
        // inet_pton reads a C string: it would stop at a NUL and accept what follows it.
        guard text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        if text.contains(":") {
            var raw = in6_addr()
            guard inet_pton(AF_INET6, text, &raw) == 1 else { return nil }
            let bytes = withUnsafeBytes(of: raw) { Array($0) }
            let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            self = .v6(high: high, low: low)
        } else {
            // inet_pton accepts only dotted quads, unlike inet_aton ("10.1" is refused).
            var raw = in_addr()
            guard inet_pton(AF_INET, text, &raw) == 1 else { return nil }
            self = .v4(UInt32(bigEndian: raw.s_addr))
        }
    }

    public var isV6: Bool {
        if case .v6 = self { return true }
        return false
    }

    /// RFC 5952 text for IPv6, dotted quad for IPv4.
    public var description: String {
        switch self {
        case .v4(let value):
            return "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
        case .v6(let high, let low):
            var raw = in6_addr()
            withUnsafeMutableBytes(of: &raw) { buffer in
                for i in 0..<8 { buffer[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i))) }
                for i in 0..<8 { buffer[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i))) }
            }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// This address plus `offset` (host numbering inside a subnet).
    package func adding(_ offset: UInt64) -> IPAddress {
        switch self {
        case .v4(let value): return .v4(value &+ UInt32(truncatingIfNeeded: offset))
        case .v6(let high, let low):
            let (sum, overflow) = low.addingReportingOverflow(offset)
            return .v6(high: high &+ (overflow ? 1 : 0), low: sum)
        }
    }
}

/// A subnet such as `10.90.0.0/16` or `fd00::1:8:0/112`.
public struct Subnet: Sendable, Hashable, CustomStringConvertible {
    public var network: IPAddress
    public var prefixLength: Int

    /// Parses `address/prefix`; the address must be the network address itself.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPAddress(String(parts[0])), let prefix = Int(parts[1]) else {
            return nil
        }
        let maxPrefix = address.isV6 ? 128 : 32
        guard (0...maxPrefix).contains(prefix) else { return nil }
        self.network = address
        self.prefixLength = prefix
        guard Subnet.masked(address, prefix) == address else { return nil }
    }

    public var description: String { "\(network)/\(prefixLength)" }

    public func contains(_ address: IPAddress) -> Bool {
        guard address.isV6 == network.isV6 else { return false }
        return Subnet.masked(address, prefixLength) == network
    }

    /// The broadcast address (IPv4) or last address (IPv6) of the subnet.
    package var isLastAddress: (IPAddress) -> Bool {
        { address in
            switch address {
            case .v4(let value):
                let hostBits = 32 - prefixLength
                guard hostBits > 0, hostBits < 32 else { return false }
                return value & ((1 << UInt32(hostBits)) - 1) == (1 << UInt32(hostBits)) - 1
            case .v6: return false
            }
        }
    }

    static func masked(_ address: IPAddress, _ prefix: Int) -> IPAddress {
        switch address {
        case .v4(let value):
            let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefix)
            return .v4(value & mask)
        case .v6(let high, let low):
            let highMask: UInt64 = prefix >= 64 ? ~0 : (prefix == 0 ? 0 : ~UInt64(0) << UInt64(64 - prefix))
            let lowMask: UInt64 = prefix <= 64 ? 0 : (prefix == 128 ? ~0 : ~UInt64(0) << UInt64(128 - prefix))
            return .v6(high: high & highMask, low: low & lowMask)
        }
    }
}

extension Subnet {
    /// The first `count` of the equal parts this subnet splits into, the smallest power of two
    /// at least `count`: `10.90.0.0/16` in 2 is `10.90.0.0/17` and `10.90.128.0/17`. The first
    /// part starts where the subnet does, so addresses numbered from it do not move. `nil` when
    /// the subnet is too small to split so.
    public func split(into count: Int) -> [Subnet]? {
        guard count >= 1 else { return nil }
        var bits = 0
        while 1 << bits < count { bits += 1 }
        let maxPrefix = network.isV6 ? 128 : 32
        let prefix = prefixLength + bits
        // Each part keeps room for a network, a gateway, hosts and a broadcast address.
        guard prefix <= maxPrefix - 2 else { return nil }
        let step = maxPrefix - prefix
        return (0..<count).map { index in
            let base: IPAddress =
                switch network {
                case .v4(let value): .v4(value + UInt32(index) << UInt32(step))
                case .v6(let high, let low):
                    step >= 64
                        ? .v6(high: high + UInt64(index) << UInt64(step - 64), low: low)
                        : .v6(high: high, low: low + UInt64(index) << UInt64(step))
                }
            return Subnet(network: base, prefixLength: prefix)
        }
    }

    /// Whether the two subnets share an address.
    public func overlaps(_ other: Subnet) -> Bool {
        contains(other.network) || other.contains(network)
    }

    /// Whether every address of `other` lies in this subnet.
    public func covers(_ other: Subnet) -> Bool {
        contains(other.network) && other.prefixLength >= prefixLength
    }

    /// The address at the same place in this subnet as `address` holds in a block of this
    /// subnet's size: `10.90.0.1` gives `10.90.128.1` in `10.90.128.0/17` and `10.91.0.1` in
    /// `10.91.0.0/16` (a gateway placed in each part as in the whole).
    public func samePlace(as address: IPAddress) -> IPAddress? {
        guard address.isV6 == network.isV6 else { return nil }
        let offset: UInt64
        switch address {
        case .v4(let value):
            let bits = 32 - prefixLength
            offset = bits >= 32 ? UInt64(value) : UInt64(value & ((1 << UInt32(bits)) - 1))
        case .v6(_, let low):
            let bits = 128 - prefixLength
            // Gateways sit near the start of a subnet: the low 64 bits hold the offset.
            offset = bits >= 64 ? low : low & ((1 << UInt64(bits)) - 1)
        }
        return network.adding(offset)
    }

    init(network: IPAddress, prefixLength: Int) {
        self.network = network
        self.prefixLength = prefixLength
    }
}
