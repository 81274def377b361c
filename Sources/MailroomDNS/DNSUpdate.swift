import MailroomSupport

/// One change of an RFC 2136 update.
public struct DNSChange: Sendable, Equatable, Codable {
    public enum Action: String, Sendable, Codable {
        case add = "+"
        case delete = "-"
    }

    public var action: Action
    public var record: DNSRecord
    /// The zone the record lives in on the server.
    public var zone: String
}

/// What `mailroom dns --update` does: compares the required records with what the
/// authoritative server holds, then sends one signed update per zone.
public enum DNSUpdate {
    /// The changes that make `client` (an authoritative server, no recursion) hold the required
    /// records: a missing record is added; a record in its place (same name and type, for TXT
    /// of the same kind) is deleted. Records of zones the server does not serve are `elsewhere`.
    public static func plan(_ required: [RequiredRecord], client: DNSClient) throws(DNSError) -> (
        changes: [DNSChange], elsewhere: [DNSRecord]
    ) {
        var changes: [DNSChange] = []
        var elsewhere: [DNSRecord] = []
        var zoneOfName: [String: String?] = [:]
        let expectedRecords = required.compactMap(\.record)
        for entry in required {
            guard let expected = entry.record else { continue }
            let zone: String?
            if let known = zoneOfName[expected.name] {
                zone = known
            } else {
                let answer = try client.query(expected.name, "SOA")
                zone =
                    answer.answered && answer.rcode != "REFUSED"
                    ? (answer.records("SOA").first ?? answer.authority.first { $0.type == "SOA" })?.name : nil
                zoneOfName[expected.name] = zone
            }
            guard let zone else {
                elsewhere.append(expected)
                continue
            }
            let answer = try client.query(expected.name, expected.type)
            guard answer.answered else {
                throw DNSError("\(client.serversText) answered \(answer.rcode) for \(expected.name) \(expected.type)")
            }
            let present = DNSCheck.relevant(answer.records(expected.type), to: expected)
            // Records in the place of the expected ones go; the companions (a backup MX's MX) stay.
            let companions = DNSCheck.companions(of: expected, in: expectedRecords)
            for record in present
            where !record.sameData(as: expected) && !companions.contains(where: { $0.sameData(as: record) })
                && !changes.contains(where: { $0.action == .delete && $0.record.sameData(as: record) })
            {
                changes.append(DNSChange(action: .delete, record: record, zone: zone))
            }
            if !present.contains(where: { $0.sameData(as: expected) }) {
                changes.append(DNSChange(action: .add, record: expected, zone: zone))
            }
        }
        return (changes, elsewhere)
    }

    /// Sends `changes`, one update per zone (all of a zone's changes at once, or none).
    public static func apply(_ changes: [DNSChange], client: DNSClient, key: TSIGKey) throws(DNSError) {
        var zones: [String] = []
        for change in changes where !zones.contains(change.zone) { zones.append(change.zone) }
        for zone in zones {
            let ofZone = changes.filter { $0.zone == zone }
            try client.update(
                zone: zone, delete: ofZone.filter { $0.action == .delete }.map(\.record),
                add: ofZone.filter { $0.action == .add }.map(\.record), key: key)
        }
    }

    /// The changes as a plan shows them: `+` added, `-` deleted, `~` a record replaced by
    /// another of the same name and type (the old value in brackets).
    public static func describe(_ changes: [DNSChange]) -> [String] {
        var lines: [String] = []
        var used = Set<Int>()
        for (index, change) in changes.enumerated() where !used.contains(index) {
            used.insert(index)
            let record = change.record
            let shown =
                "\(record.type) \(DNSName.relaxed(record.name)) \(record.type == "TXT" ? "\"\(record.value)\"" : record.rdata)"
            if change.action == .delete,
                let partner = changes.indices.first(where: {
                    !used.contains($0) && changes[$0].action == .add && changes[$0].record.type == record.type
                        && DNSName.equal(changes[$0].record.name, record.name)
                })
            {
                used.insert(partner)
                let new = changes[partner].record
                lines.append(
                    "~ \(new.type) \(DNSName.relaxed(new.name)) \(new.type == "TXT" ? "\"\(new.value)\"" : new.rdata) (was \(record.type == "TXT" ? "\"\(record.value)\"" : record.rdata))"
                )
            } else {
                lines.append("\(change.action.rawValue) \(shown)")
            }
        }
        return lines
    }
}
