import Foundation
import MailroomSupport

/// `mailroom doctor`'s host checks: reads the facts (``HostFacts`` under `root`, the
/// ``HostProbes`` commands) and gives each check of ``HostChecks`` its verdict. Every check
/// always has a verdict, `skipped` or `error` included, so a missing fact never hides a check.
package struct HostDoctor: Sendable {
    /// Where `proc/` and `sys/` are read; tests point it at fixture files.
    package var root = "/"
    package var probes = HostProbes()
    /// Where the website's certificate is read: the local HTTPS port, with the website's name.
    package var tlsAddress = "127.0.0.1"
    package var tlsPort = 443
    /// An extra trusted root for the certificate check.
    package var caFile: String?
    /// A firewall read elsewhere (tests parse fixture files); nil reads this host's.
    package var firewall: Firewall?
    /// Leave out the checks that reach outside this host; they are listed as `skipped`.
    package var skipOutside = false
    /// A public mail server the outbound port 25 check connects to.
    package var outboundTarget = "gmail-smtp-in.l.google.com"

    /// The names of the checks that reach outside this host.
    package static let outsideChecks = ["outbound port 25"]

    package init() {}

    package func run(_ needs: HostRequirements) async -> [LiveCheckResult] {
        let facts = HostFacts.read(root: root)
        var results = HostChecks.memory(facts, needs)
        results.append(HostChecks.selinux(facts.selinux))
        results += HostChecks.podman(await probes.podman(), dualStack: needs.dualStack)
        results.append(HostChecks.podmanSocket(await probes.podmanSocket()))

        let wanted = Set(needs.ports.map(\.port))
        let taken = facts.listeners.filter { wanted.contains($0.port) }
        results += HostChecks.ports(needs, listeners: taken, holders: facts.holders(of: Set(taken.map(\.inode))))
        var firewall = self.firewall
        if firewall == nil { firewall = await probes.firewall() }
        results.append(HostChecks.firewall(firewall ?? .unreadable("not read"), needs))

        var certificate: CertificateFacts?
        let listening = facts.listeners.contains { $0.proto == "tcp" && $0.port == tlsPort }
        if let website = needs.website, listening {
            certificate = await probes.certificate(
                host: tlsAddress, port: tlsPort, serverName: website, caFile: caFile)
        }
        results.append(
            HostChecks.certificate(
                certificate, website: needs.website, listening: listening, internalCA: needs.websiteInternalCA))

        if skipOutside {
            results += HostChecks.skippedOutside(Self.outsideChecks)
        } else {
            let failure = await HostProbes.connect(host: outboundTarget, port: 25)
            results.append(HostChecks.outboundSMTP(failure, target: outboundTarget))
        }
        return results
    }
}
