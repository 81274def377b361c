import Foundation
import MailroomSupport

/// Live checks of required records through a resolver: each record right, missing or wrong
/// (with the value to set), and each zone's DNSSEC state.
public enum DNSCheck {
    /// Every record, then every zone they live in (its DNSSEC state). A TLSA record on a zone
    /// that is not validated says so: TLSA protects nothing without DNSSEC.
    package static func run(_ required: [RequiredRecord], client: DNSClient) -> [LiveCheckResult] {
        let expected = required.compactMap(\.record)
        var results = required.map { entry in
            record(entry, alongside: entry.record.map { companions(of: $0, in: expected) } ?? [], client: client)
        }
        var zoneOfName: [String: String] = [:]
        var zones: [String] = []
        for entry in required where entry.type != "PTR" && zoneOfName[entry.name] == nil {
            let zone = try? client.zone(of: entry.name)
            zoneOfName[entry.name] = zone
            if let zone, !zones.contains(zone) { zones.append(zone) }
        }
        let dnssec = zones.map { zone in (zone, self.dnssec(zone: zone, client: client)) }
        for index in results.indices where required[index].type == "TLSA" {
            guard let zone = zoneOfName[required[index].name],
                let verdict = dnssec.first(where: { $0.0 == zone })?.1, verdict.verdict != .ok
            else { continue }
            results[index].detail +=
                "; zone \(DNSName.relaxed(zone)) is not validated: TLSA protects nothing without DNSSEC"
        }
        return results + dnssec.map(\.1)
    }

    /// `run` on a thread of its own, for async callers (the agent): ldns blocks while it waits.
    package static func run(_ required: [RequiredRecord], client: DNSClient) async -> [LiveCheckResult] {
        await offThePool { run(required, client: client) }
    }

    /// The other required records that share `record`'s place (name, type and TXT kind): the
    /// backup MX's MX beside the primary's.
    package static func companions(of record: DNSRecord, in expected: [DNSRecord]) -> [DNSRecord] {
        expected.filter { other in
            !other.sameData(as: record) && DNSName.equal(other.name, record.name) && other.type == record.type
                && !relevant([other], to: record).isEmpty
        }
    }

    /// One record: ok when the server holds exactly it (and its `alongside` companions). For TXT
    /// only the records of the same kind count (`v=spf1`, `v=DKIM1`, `v=DMARC1`): a name may
    /// hold other TXT records too.
    package static func record(
        _ required: RequiredRecord, alongside companions: [DNSRecord] = [], client: DNSClient
    ) -> LiveCheckResult {
        let name = "\(required.purpose) \(DNSName.relaxed(required.name))"
        func result(_ verdict: LiveCheckResult.Verdict, _ detail: String, fix: String? = nil) -> LiveCheckResult {
            LiveCheckResult(group: "dns", name: name, verdict: verdict, detail: detail, fix: fix)
        }
        guard let expected = required.record else {
            return result(
                .error, "\(required.type) \(DNSName.relaxed(required.name)): \(required.pending ?? "not computable")",
                fix: required.pending)
        }
        let answer: DNSAnswer
        do {
            answer = try client.query(expected.name, expected.type)
        } catch {
            return result(.error, "\(error)", fix: "check that the resolver \(client.serversText) answers")
        }
        guard answer.answered else {
            return result(
                .error, "\(client.serversText) answered \(answer.rcode) for \(expected.name) \(expected.type)",
                fix: answer.rcode == "SERVFAIL"
                    ? "the zone's DNSSEC chain may be broken, or its servers unreachable" : nil)
        }
        let found = relevant(answer.records(expected.type), to: expected)
        let set = "set: \(expected.zoneLine)"
        if found.isEmpty {
            return result(.missing, "no \(kind(expected)) at \(DNSName.relaxed(expected.name))", fix: set)
        }
        let others = found.filter { record in
            !record.sameData(as: expected) && !companions.contains { $0.sameData(as: record) }
        }
        let present = found.contains { $0.sameData(as: expected) }
        if others.isEmpty && present { return result(.ok, "\(expected.type) \(expected.value)") }
        let seen = found.map { shown($0) }.joined(separator: ", ")
        if others.isEmpty {
            return result(
                .missing, "\(DNSName.relaxed(expected.name)) has \(seen) but not \(shown(expected))", fix: set)
        }
        let remove = others.map { "remove: \($0.zoneLine)" }.joined(separator: "; ")
        return result(
            .wrong, "\(DNSName.relaxed(expected.name)) has \(seen); expected \(shown(expected))",
            fix: present ? remove : "\(remove); \(set)")
    }

    /// The records at the name that play the expected record's part.
    package static func relevant(_ records: [DNSRecord], to expected: DNSRecord) -> [DNSRecord] {
        guard expected.type == "TXT", let tag = txtTag(expected.value) else { return records }
        return records.filter { txtTag($0.value)?.lowercased() == tag.lowercased() }
    }

    /// `v=spf1` of `v=spf1 mx ~all`, `v=DKIM1` of `v=DKIM1; k=rsa…`: the kind of a TXT record.
    static func txtTag(_ text: String) -> String? {
        guard text.lowercased().hasPrefix("v=") else { return nil }
        return String(text.prefix { $0 != ";" && $0 != " " })
    }

    private static func kind(_ record: DNSRecord) -> String {
        record.type == "TXT" ? txtTag(record.value).map { "TXT \($0) record" } ?? "TXT record" : "\(record.type) record"
    }

    private static func shown(_ record: DNSRecord) -> String {
        record.type == "TXT" ? "\"\(record.value)\"" : record.rdata
    }

    /// A zone's DNSSEC state through a validating resolver: the AD bit on its SOA, its DNSKEY,
    /// and the DS at its parent.
    package static func dnssec(zone: String, client: DNSClient) -> LiveCheckResult {
        let shownZone = DNSName.relaxed(zone)
        func result(_ verdict: LiveCheckResult.Verdict, _ detail: String, fix: String? = nil) -> LiveCheckResult {
            LiveCheckResult(group: "dnssec", name: "DNSSEC \(shownZone)", verdict: verdict, detail: detail, fix: fix)
        }
        let steps = "sign the zone, then publish its DS at the parent (the registrar): see docs/dnssec.md"
        do {
            let soa = try client.query(zone, "SOA")
            let ds = try client.query(zone, "DS")
            let hasDS = !ds.records("DS").isEmpty
            if soa.rcode == "SERVFAIL" && hasDS {
                return result(
                    .wrong,
                    "DS at the parent, but the zone does not validate (SERVFAIL): validating resolvers refuse every answer",
                    fix:
                        "the DS must match a DNSKEY of the zone and the signatures must be current; re-sign or replace the DS"
                )
            }
            guard soa.answered else {
                return result(.error, "\(client.serversText) answered \(soa.rcode) for \(zone) SOA")
            }
            if soa.authenticated { return result(.ok, "signed and validated (AD bit from \(client.serversText))") }
            let hasKey = !(try client.query(zone, "DNSKEY")).records("DNSKEY").isEmpty
            switch (hasKey, hasDS) {
            case (false, false):
                return result(
                    .warning, "not signed (no DNSKEY, no DS): TLSA and DANE protect nothing on it", fix: steps)
            case (true, false):
                return result(
                    .warning, "signed (DNSKEY), but the parent has no DS: resolvers treat it as unsigned",
                    fix: "publish the zone's DS at the parent (the registrar): see docs/dnssec.md")
            default:
                return result(
                    .error, "DS at the parent, but \(client.serversText) did not set the AD bit: it does not validate",
                    fix: "check with a validating resolver: --resolver ADDRESS")
            }
        } catch {
            return result(.error, "\(error)")
        }
    }
}

/// Runs blocking `work` on a new thread and resumes the caller with its result.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: work()) }.start()
    }
}
