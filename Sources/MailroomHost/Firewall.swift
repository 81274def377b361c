import Foundation

/// The host firewall as `mailroom doctor` reads it: firewalld's zone (`firewall-cmd --list-all`)
/// or the nftables ruleset (`nft -j list ruleset`), and whether either lets a port in.
package enum Firewall: Sendable, Equatable {
    /// firewalld runs: the default zone's services and ports.
    case firewalld(FirewalldZone)
    /// No firewalld, but nftables rules (`nft -j list ruleset`).
    case nftables(NFTRuleset)
    /// Neither firewalld nor an nftables ruleset with an input hook: nothing filters.
    case none(String)
    /// The firewall could not be read (a command failed); says nothing about the ports.
    case unreadable(String)

    /// Whether a new connection from anywhere to `port`/`proto` gets in; nil when unknown.
    package func allows(port: Int, proto: String) -> Bool? {
        switch self {
        case .firewalld(let zone): zone.allows(port: port, proto: proto)
        case .nftables(let ruleset): ruleset.allows(port: port, proto: proto)
        case .none: true
        case .unreadable: nil
        }
    }
}

/// One firewalld zone, from `firewall-cmd --list-all`.
package struct FirewalldZone: Sendable, Equatable {
    package var name: String
    package var target: String
    package var services: [String]
    /// `8080/tcp`, `4000-4010/udp`.
    package var ports: [String]

    /// The ports of firewalld's own service definitions Mailroom's deployments use (and the
    /// guide's `http3`, which it creates).
    package static let servicePorts: [String: [String]] = [
        "http": ["80/tcp"], "https": ["443/tcp"], "http3": ["443/udp"], "smtp": ["25/tcp"], "smtps": ["465/tcp"],
        "smtp-submission": ["587/tcp"], "imap": ["143/tcp"], "imaps": ["993/tcp"], "pop3": ["110/tcp"],
        "pop3s": ["995/tcp"], "managesieve": ["4190/tcp"],
    ]

    /// The firewalld service for a port, for the fix (`--add-service=smtp`).
    package static func service(port: Int, proto: String) -> String? {
        servicePorts.first { $0.value.contains("\(port)/\(proto)") }?.key
    }

    /// Reads `firewall-cmd --list-all`: a `zone (active)` line, then `key: values` lines.
    package static func parse(listAll text: String) -> FirewalldZone? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard let first = lines.first, !first.hasPrefix(" ") else { return nil }
        var zone = FirewalldZone(
            name: String(first.split(separator: " ").first ?? ""), target: "default", services: [], ports: [])
        for line in lines.dropFirst() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard let colon = trimmed.firstIndex(of: ":") else { continue }
            let key = trimmed[..<colon]
            let values = trimmed[trimmed.index(after: colon)...].split(separator: " ").map(String.init)
            switch key {
            case "target": zone.target = values.first ?? "default"
            case "services": zone.services = values
            case "ports": zone.ports = values
            default: break
            }
        }
        return zone
    }

    package func allows(port: Int, proto: String) -> Bool {
        if target == "ACCEPT" { return true }
        let wanted = "\(port)/\(proto)"
        if services.contains(where: { Self.servicePorts[$0]?.contains(wanted) ?? false }) { return true }
        return ports.contains { entry in
            let parts = entry.split(separator: "/")
            guard parts.count == 2, parts[1] == proto else { return false }
            let bounds = parts[0].split(separator: "-").compactMap { Int($0) }
            guard let low = bounds.first else { return false }
            return (low...(bounds.last ?? low)).contains(port)
        }
    }
}

/// The parts of an nftables ruleset (`nft -j list ruleset`) that decide whether a new
/// connection to a port gets in: base chains on the input hook, their rules and policy, jumps
/// to regular chains and named sets. A rule counts only when it matches nothing but the
/// protocol and the destination port: one limited to an interface, a source or a connection
/// state does not open (or close) the port for everyone.
package struct NFTRuleset: Sendable, Equatable {
    struct Chain: Sendable, Equatable {
        var family: String
        var table: String
        var name: String
        var hook: String?
        var policy: String?
        var rules: [Rule] = []
    }

    struct Rule: Sendable, Equatable {
        /// The destination ports the rule matches (nil: any port), and whether it is `!=`.
        var ports: [ClosedRange<Int>]?
        var negated = false
        /// `tcp`, `udp`, or nil for either.
        var proto: String?
        /// It also matches on something else (interface, address, state…).
        var conditional = false
        /// `accept`, `drop`, `reject`, `jump`, `goto`, `return`, or nil (a counter, a log).
        var verdict: String?
        var target: String?
    }

    var chains: [Chain]
    var sets: [String: [ClosedRange<Int>]]

    /// Reads the JSON; nil when it is not an `nft -j` document.
    package static func parse(json data: Data) -> NFTRuleset? {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let items = root["nftables"] as? [[String: Any]]
        else { return nil }
        var chains: [Chain] = []
        var sets: [String: [ClosedRange<Int>]] = [:]
        var rules: [(key: String, rule: [String: Any])] = []
        for item in items {
            if let c = item["chain"] as? [String: Any] {
                chains.append(
                    Chain(
                        family: c["family"] as? String ?? "", table: c["table"] as? String ?? "",
                        name: c["name"] as? String ?? "", hook: c["hook"] as? String, policy: c["policy"] as? String))
            } else if let s = item["set"] as? [String: Any] {
                let key = "\(s["family"] as? String ?? "")/\(s["table"] as? String ?? "")/\(s["name"] as? String ?? "")"
                sets[key] = ranges(s["elem"]) ?? []
            } else if let r = item["rule"] as? [String: Any] {
                let key =
                    "\(r["family"] as? String ?? "")/\(r["table"] as? String ?? "")/\(r["chain"] as? String ?? "")"
                rules.append((key, r))
            }
        }
        // After every set is known: a rule may name a set listed after it.
        for (key, r) in rules {
            if let index = chains.firstIndex(where: { "\($0.family)/\($0.table)/\($0.name)" == key }) {
                chains[index].rules.append(rule(r["expr"] as? [[String: Any]] ?? [], in: r, sets: sets))
            }
        }
        return NFTRuleset(chains: chains, sets: sets)
    }

    /// Port numbers and ranges from a JSON right-hand side: `25`, `{"range": [a, b]}`,
    /// `{"set": [...]}` or a list.
    private static func ranges(_ value: Any?) -> [ClosedRange<Int>]? {
        if let n = value as? Int { return [n...n] }
        if let list = value as? [Any] { return list.flatMap { ranges($0) ?? [] } }
        if let object = value as? [String: Any] {
            if let bounds = object["range"] as? [Int], bounds.count == 2, bounds[0] <= bounds[1] {
                return [bounds[0]...bounds[1]]
            }
            if let set = object["set"] { return ranges(set) }
            if let elem = object["elem"] { return ranges(elem) }
            if let value = object["val"] { return ranges(value) }
        }
        return nil
    }

    private static func rule(
        _ expressions: [[String: Any]], in table: [String: Any], sets: [String: [ClosedRange<Int>]]
    )
        -> Rule
    {
        var rule = Rule()
        for expression in expressions {
            if let match = expression["match"] as? [String: Any] {
                let left = match["left"] as? [String: Any] ?? [:]
                let op = match["op"] as? String ?? "=="
                if let payload = left["payload"] as? [String: Any], payload["field"] as? String == "dport" {
                    let proto = payload["protocol"] as? String
                    if proto == "tcp" || proto == "udp" { rule.proto = proto }
                    if let name = match["right"] as? String, name.hasPrefix("@") {
                        let key =
                            "\(table["family"] as? String ?? "")/\(table["table"] as? String ?? "")/\(name.dropFirst())"
                        rule.ports = sets[key]
                        if rule.ports == nil { rule.conditional = true }
                    } else {
                        rule.ports = ranges(match["right"])
                    }
                    rule.negated = op == "!="
                } else if let meta = left["meta"] as? [String: Any], meta["key"] as? String == "l4proto",
                    let proto = match["right"] as? String, op == "=="
                {
                    rule.proto = proto
                } else {
                    rule.conditional = true
                }
            }
            for verdict in ["accept", "drop", "reject", "return"] where expression.keys.contains(verdict) {
                rule.verdict = verdict
            }
            for verdict in ["jump", "goto"] {
                if let target = expression[verdict] as? [String: Any] {
                    rule.verdict = verdict
                    rule.target = target["target"] as? String
                }
            }
        }
        return rule
    }

    /// Every base chain on the input hook must let the packet through.
    package func allows(port: Int, proto: String) -> Bool {
        chains.filter { $0.hook == "input" }.allSatisfy { chain in
            (verdict(of: chain, port: port, proto: proto, depth: 0) ?? chain.policy ?? "accept") == "accept"
        }
    }

    /// Whether the ruleset filters incoming packets at all.
    package var hasInputHook: Bool { chains.contains { $0.hook == "input" } }

    /// The verdict `chain` reaches for a new connection to the port, or nil when it falls through.
    private func verdict(of chain: Chain, port: Int, proto: String, depth: Int) -> String? {
        guard depth < 16 else { return nil }
        for rule in chain.rules where !rule.conditional {
            if let p = rule.proto, p != proto { continue }
            if let ports = rule.ports, ports.contains(where: { $0.contains(port) }) == rule.negated { continue }
            switch rule.verdict {
            case "accept", "drop", "reject": return rule.verdict
            case "return": return nil
            case "jump", "goto":
                guard
                    let target = chains.first(where: {
                        $0.family == chain.family && $0.table == chain.table && $0.name == rule.target
                    })
                else { continue }
                if let result = verdict(of: target, port: port, proto: proto, depth: depth + 1) { return result }
                if rule.verdict == "goto" { return nil }
            default: continue
            }
        }
        return nil
    }
}
