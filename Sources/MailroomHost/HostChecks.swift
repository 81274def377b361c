import Foundation
import MailroomSupport

/// The guide's pre-flight as checks: each a pure function from facts (``HostFacts``,
/// ``PodmanFacts``, ``Firewall``, ``CertificateFacts``) and the deployment's
/// ``HostRequirements`` to verdicts with a fix.
package enum HostChecks {
    /// MemTotal is what the kernel leaves of the RAM: a 2 GiB machine shows about 1.9 GiB.
    static let memorySlack = 0.9

    static func gib(_ bytes: UInt64) -> String {
        let value = Double(bytes) / Double(HostRequirements.gibibyte)
        return String(format: value >= 10 ? "%.0f GiB" : "%.1f GiB", value)
    }

    /// `memory` (physical, against the components' need) and `memory+swap` (against bursts).
    package static func memory(_ facts: HostFacts, _ needs: HostRequirements) -> [LiveCheckResult] {
        guard let memory = facts.memoryTotal else {
            let detail = "cannot read \(facts.root == "/" ? "" : facts.root)/proc/meminfo"
            return [
                LiveCheckResult(group: "host", name: "memory", verdict: .error, detail: detail),
                LiveCheckResult(group: "host", name: "memory+swap", verdict: .error, detail: detail),
            ]
        }
        let swap = facts.swapTotal ?? 0
        var results: [LiveCheckResult] = []
        if Double(memory) >= Double(needs.memoryBytes) * memorySlack {
            results.append(
                LiveCheckResult(
                    group: "host", name: "memory", verdict: .ok,
                    detail: "\(gib(memory)) (needs \(gib(needs.memoryBytes)): \(needs.memoryReason))"))
        } else {
            results.append(
                LiveCheckResult(
                    group: "host", name: "memory", verdict: .wrong,
                    detail: "\(gib(memory)), needs \(gib(needs.memoryBytes)): \(needs.memoryReason)",
                    fix:
                        "give the machine at least \(gib(needs.memoryBytes)) of memory, or switch components off (mailu.components.antivirus: false saves 1 GiB)"
                ))
        }
        let total = memory + swap
        let withSwap = swap == 0 ? "\(gib(memory)) and no swap" : "\(gib(memory)) + \(gib(swap)) swap"
        if Double(total) >= Double(needs.memoryPlusSwapBytes) * memorySlack {
            results.append(
                LiveCheckResult(
                    group: "host", name: "memory+swap", verdict: .ok,
                    detail: "\(withSwap) (at least \(gib(needs.memoryPlusSwapBytes)))"))
        } else {
            let missing = needs.memoryPlusSwapBytes - min(total, needs.memoryPlusSwapBytes)
            let gigabytes = max(1, Int((Double(missing) / Double(HostRequirements.gibibyte)).rounded(.up)))
            results.append(
                LiveCheckResult(
                    group: "host", name: "memory+swap", verdict: .warning,
                    detail:
                        "\(withSwap), below \(gib(needs.memoryPlusSwapBytes)): a burst may end in the OOM killer",
                    fix:
                        "add \(gigabytes) GiB of swap: fallocate -l \(gigabytes)G /swapfile && chmod 600 /swapfile && mkswap /swapfile && swapon /swapfile, and add it to /etc/fstab"
                ))
        }
        return results
    }

    package static func selinux(_ mode: HostFacts.SELinux) -> LiveCheckResult {
        switch mode {
        case .absent:
            LiveCheckResult(group: "host", name: "selinux", verdict: .ok, detail: "SELinux is not enabled")
        case .permissive:
            LiveCheckResult(
                group: "host", name: "selinux", verdict: .ok, detail: "permissive: denials are logged, not enforced")
        case .enforcing:
            LiveCheckResult(
                group: "host", name: "selinux", verdict: .warning,
                detail: "enforcing: Mailu's bind mounts are unlabelled and may be denied",
                fix:
                    "as the guide does: setenforce 0 && sed -i 's/SELINUX=enforcing/SELINUX=disabled/' /etc/selinux/config (or label the data directories for containers yourself)"
            )
        }
    }

    /// Podman 4 or later (netavark, `podman network` with static addresses), and netavark as
    /// the network backend when the network is dual-stack.
    package static func podman(_ probed: Result<PodmanFacts, ProbeError>, dualStack: Bool) -> [LiveCheckResult] {
        let facts: PodmanFacts
        switch probed {
        case .failure(let error):
            let fix = "install podman: apt-get install podman runc catatonit (dnf install podman netavark)"
            return [
                LiveCheckResult(group: "podman", name: "podman version", verdict: .wrong, detail: "\(error)", fix: fix),
                LiveCheckResult(group: "podman", name: "network backend", verdict: .error, detail: "\(error)"),
            ]
        case .success(let found): facts = found
        }
        var results: [LiveCheckResult] = []
        let major = Int(facts.version.prefix { $0.isNumber }) ?? 0
        results.append(
            major >= 4
                ? LiveCheckResult(
                    group: "podman", name: "podman version", verdict: .ok, detail: "podman \(facts.version)")
                : LiveCheckResult(
                    group: "podman", name: "podman version", verdict: .wrong,
                    detail: "podman \(facts.version); Mailroom needs 4.0 or later",
                    fix: "upgrade podman to 4.x or later"))
        if facts.networkBackend == "netavark" {
            results.append(LiveCheckResult(group: "podman", name: "network backend", verdict: .ok, detail: "netavark"))
        } else {
            results.append(
                LiveCheckResult(
                    group: "podman", name: "network backend", verdict: dualStack ? .wrong : .warning,
                    detail: dualStack
                        ? "\(facts.networkBackend): the network is dual-stack and needs netavark for IPv6"
                        : "\(facts.networkBackend): works for IPv4; the guide uses netavark (needed for IPv6)",
                    fix:
                        "install netavark and aardvark-dns and set network_backend = \"netavark\" under [network] in /etc/containers/containers.conf (as the guide does); networks made under cni must then be recreated"
                ))
        }
        return results
    }

    package static func podmanSocket(_ facts: PodmanSocketFacts) -> LiveCheckResult {
        let fix =
            "systemctl enable --now podman.socket (Mailroom reads the host through it, ~4× faster than podman calls)"
        if let enabled = facts.enabled, let active = facts.active {
            let good = enabled == "enabled" && active == "active"
            return LiveCheckResult(
                group: "podman", name: "podman.socket", verdict: good ? .ok : .warning,
                detail: "podman.socket is \(enabled) and \(active)", fix: good ? nil : fix)
        }
        return facts.answers
            ? LiveCheckResult(
                group: "podman", name: "podman.socket", verdict: .ok,
                detail: "a podman service answers on \(facts.path)")
            : LiveCheckResult(
                group: "podman", name: "podman.socket", verdict: .warning,
                detail: "no podman service answers on \(facts.path) (systemd is not running here)",
                fix: "with systemd: \(fix); without: podman system service --time=0 unix://\(facts.path)")
    }

    /// `port 25/tcp`: free, or held by the container that publishes it (rootful podman keeps
    /// a published port open in the container's conmon).
    package static func ports(
        _ needs: HostRequirements, listeners: [HostFacts.Listener], holders: [UInt64: HostFacts.Holder]
    ) -> [LiveCheckResult] {
        var seen = Set<String>()
        return needs.ports.compactMap { wanted -> LiveCheckResult? in
            let name = "port \(wanted.port)/\(wanted.proto)"
            guard seen.insert(name).inserted else { return nil }
            let taken = listeners.filter { $0.port == wanted.port && $0.proto == wanted.proto }
            guard !taken.isEmpty else {
                return LiveCheckResult(group: "network", name: name, verdict: .ok, detail: "free")
            }
            let owners = taken.map { holders[$0.inode] }
            if let holder = owners.compactMap({ $0 }).first(where: { $0.container == wanted.container }) {
                return LiveCheckResult(
                    group: "network", name: name, verdict: .ok,
                    detail: "held by \(holder.container ?? wanted.container)")
            }
            let who = zip(taken, owners).map { listener, holder in
                let process = holder.map { h in h.container.map { "container \($0)" } ?? "\(h.command) (pid \(h.pid))" }
                return "\(listener.address) by \(process ?? "an unknown process")"
            }
            return LiveCheckResult(
                group: "network", name: name, verdict: .wrong,
                detail: "in use: \(who.joined(separator: ", ")); \(wanted.container) must publish it",
                fix:
                    "stop what listens on \(wanted.port) (a mail server or web server from the distribution?), or publish \(wanted.container) elsewhere"
            )
        }
    }

    /// `firewall`: whether every published port gets in.
    package static func firewall(_ firewall: Firewall, _ needs: HostRequirements) -> LiveCheckResult {
        var ports: [HostRequirements.Port] = []
        for port in needs.ports where !ports.contains(where: { $0.port == port.port && $0.proto == port.proto }) {
            ports.append(port)
        }
        let label = { (p: HostRequirements.Port) in "\(p.port)/\(p.proto)" }
        switch firewall {
        case .unreadable(let why):
            return LiveCheckResult(group: "network", name: "firewall", verdict: .error, detail: why)
        case .none(let why):
            return LiveCheckResult(
                group: "network", name: "firewall", verdict: .warning,
                detail: "no firewall: \(why); the ports are open, and so is everything else",
                fix: "install firewalld and open the mail services, as the guide does")
        case .firewalld(let zone):
            let blocked = ports.filter { !zone.allows(port: $0.port, proto: $0.proto) }
            guard !blocked.isEmpty else {
                return LiveCheckResult(
                    group: "network", name: "firewall", verdict: .ok,
                    detail: "firewalld zone \(zone.name) lets in \(ports.map(label).joined(separator: ", "))")
            }
            let adds = blocked.map { p in
                FirewalldZone.service(port: p.port, proto: p.proto).map { "--add-service=\($0)" }
                    ?? "--add-port=\(label(p))"
            }
            return LiveCheckResult(
                group: "network", name: "firewall", verdict: .wrong,
                detail: "firewalld zone \(zone.name) blocks \(blocked.map(label).joined(separator: ", "))",
                fix:
                    "firewall-cmd --permanent --zone=\(zone.name) \(Array(Set(adds)).sorted().joined(separator: " ")) && firewall-cmd --reload"
            )
        case .nftables(let ruleset):
            let blocked = ports.filter { !ruleset.allows(port: $0.port, proto: $0.proto) }
            guard !blocked.isEmpty else {
                return LiveCheckResult(
                    group: "network", name: "firewall", verdict: .ok,
                    detail: "nftables lets in \(ports.map(label).joined(separator: ", "))")
            }
            let tcp = blocked.filter { $0.proto == "tcp" }.map { String($0.port) }
            let udp = blocked.filter { $0.proto == "udp" }.map { String($0.port) }
            var rules: [String] = []
            if !tcp.isEmpty { rules.append("tcp dport { \(tcp.joined(separator: ", ")) } accept") }
            if !udp.isEmpty { rules.append("udp dport { \(udp.joined(separator: ", ")) } accept") }
            return LiveCheckResult(
                group: "network", name: "firewall", verdict: .wrong,
                detail: "nftables drops new connections to \(blocked.map(label).joined(separator: ", "))",
                fix: "add to the input chain (/etc/nftables.conf): \(rules.joined(separator: "; "))")
        }
    }

    /// `certificate <host>`: the website's certificate, trusted, and more than 14 days from expiry.
    /// Nothing listening yet (before the first apply) is `skipped`, not wrong.
    package static func certificate(
        _ facts: CertificateFacts?, website: String?, listening: Bool, internalCA: Bool, now: Date = Date()
    ) -> LiveCheckResult {
        guard let website else {
            return LiveCheckResult(
                group: "tls", name: "certificate", verdict: .skipped, detail: "no website in the spec")
        }
        let name = "certificate \(website)"
        guard let facts, facts.failure == nil, let notAfter = facts.notAfter else {
            if !listening {
                return LiveCheckResult(
                    group: "tls", name: name, verdict: .skipped,
                    detail: "nothing serves HTTPS here yet: checked once the deployment runs")
            }
            return LiveCheckResult(
                group: "tls", name: name, verdict: .wrong,
                detail: "no TLS handshake for \(website): \(facts?.failure ?? "not checked")",
                fix: "check Caddy's log (podman logs caddy2): it serves the website and gets its certificate")
        }
        let days = Int((notAfter.timeIntervalSince(now) / 86400).rounded(.down))
        let until = "until \(InternetTime.string(from: notAfter))"
        let fix = "Caddy renews 30 days before expiry: check its log (podman logs caddy2) for ACME errors"
        if notAfter <= now {
            return LiveCheckResult(
                group: "tls", name: name, verdict: .wrong, detail: "expired \(-days) days ago (\(until))", fix: fix)
        }
        let trusted = facts.verifyCode == 0
        if !trusted && !internalCA {
            return LiveCheckResult(
                group: "tls", name: name, verdict: .wrong,
                detail: "not trusted: \(facts.verifyText) (issuer \(facts.issuer))", fix: fix)
        }
        let issuer = trusted ? "issued by \(facts.issuer)" : "from Caddy's local CA (caddy.tls: internal)"
        if days < 14 {
            return LiveCheckResult(
                group: "tls", name: name, verdict: .warning, detail: "expires in \(days) days (\(until)), \(issuer)",
                fix: fix)
        }
        return LiveCheckResult(
            group: "tls", name: name, verdict: .ok, detail: "valid \(until) (\(days) days), \(issuer)")
    }

    /// `outbound port 25`: whether this host can reach another mail server (providers often block it).
    package static func outboundSMTP(_ failure: String?, target: String) -> LiveCheckResult {
        guard let failure else {
            return LiveCheckResult(
                group: "outside", name: "outbound port 25", verdict: .ok, detail: "connected to \(target):25")
        }
        return LiveCheckResult(
            group: "outside", name: "outbound port 25", verdict: .wrong,
            detail: "cannot connect to \(target):25: \(failure)",
            fix: "ask the provider to unblock outgoing port 25 (many block it by default), or relay through a smarthost"
        )
    }

    /// Every outside check, `skipped` (for `--skip-outside`).
    package static func skippedOutside(_ names: [String]) -> [LiveCheckResult] {
        names.map {
            LiveCheckResult(
                group: "outside", name: $0, verdict: .skipped,
                detail: "reaches outside this host; skipped (--skip-outside)")
        }
    }
}
