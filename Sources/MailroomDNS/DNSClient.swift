import CLDNS
import MailroomSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A DNS server to ask: an address and a port.
public struct DNSServer: Sendable, Hashable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16 = 53) {
        self.address = address
        self.port = port
    }

    /// `127.0.0.1`, `127.0.0.1:5300`, `::1` or `[::1]:5300`.
    public init?(_ text: String) {
        var host = Substring(text)
        var port: UInt16 = 53
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let value = UInt16(rest.dropFirst()) else { return nil }
                port = value
            }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            guard let value = UInt16(host[host.index(after: colon)...]) else { return nil }
            port = value
            host = host[..<colon]
        }
        guard let address = IPAddress(String(host)), port > 0 else { return nil }
        self.init(address: address, port: port)
    }

    public var description: String {
        port == 53 ? "\(address)" : address.isV6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}

/// What a server answered to one query.
public struct DNSAnswer: Sendable, Equatable {
    /// `NOERROR`, `NXDOMAIN`, `SERVFAIL`, `REFUSED`…
    public var rcode: String
    /// The AD bit: a validating resolver checked the answer's DNSSEC chain.
    public var authenticated: Bool
    public var answer: [DNSRecord]
    public var authority: [DNSRecord]

    /// The answer's records of `type` (a CNAME chain's target records included).
    public func records(_ type: String) -> [DNSRecord] { answer.filter { $0.type == type } }

    /// The name exists or does not: either way the server answered the question.
    public var answered: Bool { rcode == "NOERROR" || rcode == "NXDOMAIN" }
}

public struct DNSError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A TSIG key for RFC 2136 updates, written as `knsupdate -y` and `nsupdate -y` take it:
/// `[algorithm:]name:base64-secret` (algorithm default hmac-sha256).
public struct TSIGKey: Sendable, Equatable {
    public var algorithm: String
    public var name: String
    public var secret: String

    public init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ":").map(String.init)
        switch parts.count {
        case 2: (algorithm, name, secret) = ("hmac-sha256", parts[0], parts[1])
        case 3: (algorithm, name, secret) = (parts[0].lowercased(), parts[1], parts[2])
        default: return nil
        }
        guard !name.isEmpty, !secret.isEmpty,
            ["hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"].contains(algorithm)
        else { return nil }
    }
}

/// A DNS client on NLnet Labs' ldns: queries (every record type, the AD bit) and RFC 2136
/// updates signed with TSIG. Each call makes its own ldns resolver, so the value is freely
/// shared; calls block for at most `timeout` per try (`retries` tries per server).
public struct DNSClient: Sendable {
    /// The servers to ask, in order; none means those of /etc/resolv.conf.
    public var servers: [DNSServer]
    /// Whether to ask for recursion (RD): yes for a resolver, no for an authoritative server.
    public var recursive: Bool
    public var timeout: Int = 5
    public var retries: UInt8 = 2

    public init(servers: [DNSServer] = [], recursive: Bool = true) {
        self.servers = servers
        self.recursive = recursive
    }

    /// Asks for `name`'s records of `type` (`MX`, `TLSA`, `DS`…), with the DO bit set so a
    /// validating resolver reports its verdict in the AD bit.
    public func query(_ name: String, _ type: String) throws(DNSError) -> DNSAnswer {
        let rrType = ldns_get_rr_type_by_name(type)
        guard rrType.rawValue != 0 else { throw DNSError("unknown record type \(type)") }
        guard let dname = ldns_dname_new_frm_str(DNSName.absolute(name)) else {
            throw DNSError("'\(name)' is not a domain name")
        }
        defer { ldns_rdf_deep_free(dname) }
        let resolver = try makeResolver()
        defer { ldns_resolver_deep_free(resolver) }
        var packet: UnsafeMutablePointer<ldns_pkt>?
        let flags = (recursive ? cldns_flag_rd() : 0) | cldns_flag_ad()
        let status = ldns_resolver_query_status(&packet, resolver, dname, rrType, LDNS_RR_CLASS_IN, flags)
        guard status == LDNS_STATUS_OK, let packet else {
            throw DNSError(
                "\(serversText) did not answer \(name) \(type): \(Self.text(ldns_get_errorstr_by_id(status)))")
        }
        defer { ldns_pkt_free(packet) }
        return Self.answer(packet)
    }

    /// The zone `name` belongs to: the owner of the SOA record the server gives for it.
    public func zone(of name: String) throws(DNSError) -> String {
        let answer = try query(name, "SOA")
        guard answer.answered else { throw DNSError("\(serversText) answered \(answer.rcode) for \(name) SOA") }
        if let soa = answer.records("SOA").first ?? answer.authority.first(where: { $0.type == "SOA" }) {
            return soa.name
        }
        throw DNSError("\(serversText) gave no SOA for \(name)")
    }

    /// Sends one RFC 2136 update for `zone`, signed with `key`: deletes each record of
    /// `delete` (that exact record), then adds each of `add`. The server applies all or nothing.
    public func update(zone: String, delete: [DNSRecord], add: [DNSRecord], key: TSIGKey) throws(DNSError) {
        guard let updates = ldns_rr_list_new() else { throw DNSError("out of memory") }
        defer { ldns_rr_list_deep_free(updates) }
        for (record, deleting) in delete.map({ ($0, true) }) + add.map({ ($0, false) }) {
            var rr: UnsafeMutablePointer<ldns_rr>?
            let status = ldns_rr_new_frm_str(&rr, record.zoneLine, 0, nil, nil)
            guard status == LDNS_STATUS_OK, let rr else {
                throw DNSError("cannot read '\(record.zoneLine)': \(Self.text(ldns_get_errorstr_by_id(status)))")
            }
            if deleting {
                // RFC 2136 2.5.4: class NONE, TTL 0 deletes this record from its RRset.
                ldns_rr_set_class(rr, LDNS_RR_CLASS_NONE)
                ldns_rr_set_ttl(rr, 0)
            }
            ldns_rr_list_push_rr(updates, rr)
        }
        guard let zoneName = ldns_dname_new_frm_str(DNSName.absolute(zone)),
            let packet = ldns_update_pkt_new(zoneName, LDNS_RR_CLASS_IN, nil, updates, nil)
        else { throw DNSError("cannot build an update for \(zone)") }
        defer { ldns_pkt_free(packet) }
        let resolver = try makeResolver()
        defer { ldns_resolver_deep_free(resolver) }
        ldns_resolver_set_tsig_keyname(resolver, DNSName.absolute(key.name))
        ldns_resolver_set_tsig_algorithm(resolver, key.algorithm + ".")
        ldns_resolver_set_tsig_keydata(resolver, key.secret)
        var status = ldns_update_pkt_tsig_add(packet, resolver)
        guard status == LDNS_STATUS_OK else {
            throw DNSError("cannot sign the update with key \(key.name): \(Self.text(ldns_get_errorstr_by_id(status)))")
        }
        var reply: UnsafeMutablePointer<ldns_pkt>?
        status = ldns_resolver_send_pkt(&reply, resolver, packet)
        guard status == LDNS_STATUS_OK, let reply else {
            throw DNSError(
                "\(serversText) did not take the update of \(zone): \(Self.text(ldns_get_errorstr_by_id(status)))")
        }
        defer { ldns_pkt_free(reply) }
        let rcode = Self.rcode(reply)
        guard rcode == "NOERROR" else {
            let hint =
                rcode == "NOTAUTH" || rcode == "REFUSED"
                ? ": does the server allow updates of \(zone) with key \(key.name)?" : ""
            throw DNSError("\(serversText) refused the update of \(zone): \(rcode)\(hint)")
        }
    }

    var serversText: String {
        servers.isEmpty ? "the resolver of /etc/resolv.conf" : servers.map(\.description).joined(separator: ", ")
    }

    private func makeResolver() throws(DNSError) -> UnsafeMutablePointer<ldns_resolver> {
        var resolver: UnsafeMutablePointer<ldns_resolver>?
        if servers.isEmpty {
            let status = ldns_resolver_new_frm_file(&resolver, nil)
            guard status == LDNS_STATUS_OK, let resolver else {
                throw DNSError("cannot read /etc/resolv.conf: \(Self.text(ldns_get_errorstr_by_id(status)))")
            }
            configure(resolver)
            return resolver
        }
        guard let made = ldns_resolver_new() else { throw DNSError("out of memory") }
        for server in servers {
            guard
                let address = ldns_rdf_new_frm_str(
                    server.address.isV6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, "\(server.address)")
            else { continue }
            ldns_resolver_push_nameserver(made, address)
            ldns_rdf_deep_free(address)
        }
        // ldns has one port for all its servers.
        ldns_resolver_set_port(made, servers[0].port)
        configure(made)
        return made
    }

    private func configure(_ resolver: UnsafeMutablePointer<ldns_resolver>) {
        ldns_resolver_set_recursive(resolver, recursive ? 1 : 0)
        ldns_resolver_set_dnssec(resolver, 1)
        ldns_resolver_set_edns_udp_size(resolver, 1232)
        ldns_resolver_set_fallback(resolver, 1)
        ldns_resolver_set_random(resolver, 0)
        ldns_resolver_set_retry(resolver, retries)
        ldns_resolver_set_timeout(resolver, timeval(tv_sec: timeout, tv_usec: 0))
    }

    private static func answer(_ packet: UnsafeMutablePointer<ldns_pkt>) -> DNSAnswer {
        DNSAnswer(
            rcode: rcode(packet), authenticated: ldns_pkt_ad(packet) != 0, answer: records(ldns_pkt_answer(packet)),
            authority: records(ldns_pkt_authority(packet)))
    }

    private static func rcode(_ packet: UnsafeMutablePointer<ldns_pkt>) -> String {
        owned(ldns_pkt_rcode2str(ldns_pkt_get_rcode(packet))) ?? "RCODE?"
    }

    private static func records(_ list: UnsafeMutablePointer<ldns_rr_list>?) -> [DNSRecord] {
        guard let list else { return [] }
        return (0..<ldns_rr_list_rr_count(list)).compactMap { index -> DNSRecord? in
            guard let rr = ldns_rr_list_rr(list, index) else { return nil }
            let fields = (0..<ldns_rr_rd_count(rr)).compactMap { owned(ldns_rdf2str(ldns_rr_rdf(rr, $0))) }
            return DNSRecord(
                name: owned(ldns_rdf2str(ldns_rr_owner(rr))) ?? "",
                type: owned(ldns_rr_type2str(ldns_rr_get_type(rr))) ?? "",
                ttl: Int(ldns_rr_ttl(rr)), rdata: fields.joined(separator: " "))
        }
    }

    /// A string ldns allocated, freed after copying.
    private static func owned(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
        guard let pointer else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    private static func text(_ pointer: UnsafePointer<CChar>?) -> String {
        pointer.map { String(cString: $0) } ?? "unknown error"
    }
}
