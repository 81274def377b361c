import ArgumentParser
import Foundation
import MailroomApply
import MailroomDNS
import MailroomHost
import MailroomMailu
import MailroomPlan
import MailroomRender
import MailroomSupport

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check this host before (and after) deploying: memory, podman, ports, firewall, TLS.",
        discussion: """
            The guide's pre-flight, each check with a verdict and a fix: memory and
            memory + swap against the enabled components (2 GiB, 1 GiB more with the
            antivirus, 5 GiB with swap); SELinux; podman's version, network backend
            (netavark) and podman.socket; every port the spec publishes free or held by
            its own container; the firewall (firewalld, else nftables) letting them
            in; the certificate the website serves on this host's port 443 and its
            days to expiry (a warning under 14). Checks that reach outside this host
            (outbound port 25 to a public mail server; the public IP's PTR against the
            first hostname, the hostname's A/AAAA against the public IP, and the public
            IP on DNS blacklists, through --resolver or /etc/resolv.conf) are skipped
            with --skip-outside. Verdicts: ok, warning, wrong, missing, error, skipped.
            Exit status: 0 every verdict is ok, warning or skipped; 1 otherwise.
            Example:
              mailroom doctor examples/seed-guide
              mailroom doctor examples/seed-guide --skip-outside --output json
            """)

    @OptionGroup var spec: SpecOptions
    @OptionGroup var state: StateOptions
    @Flag(help: "Skip the checks that reach outside this host; they are listed as skipped.") var skipOutside = false
    @Option(help: "The resolver for the host's DNS checks, ADDRESS[:PORT]; named, they run also with --skip-outside.")
    var resolver: String?
    @Option(name: .customLong("dnsbl"), help: "A DNS blacklist zone to look the public IP up in (repeatable).")
    var blacklists: [String] = []

    func validate() throws {
        if let resolver, DNSServer(resolver) == nil {
            throw ValidationError("--resolver \(resolver) is not ADDRESS[:PORT] (an IP address, not a name)")
        }
    }
    @Option(help: "Output format: text or json.") var output: OutputFormat = .text

    func run() async throws {
        let (source, loaded) = try await spec.load(state: state)
        let compiled: CompiledSpec
        do { compiled = try state.pipeline(hostName: spec.hostName).compileWithoutHost(loaded.text) } catch let error
            as SpecError
        {
            throw reportSpecError(error)
        }
        var results: [LiveCheckResult] = []
        var dns = HostDNSOptions()
        if let server = resolver.flatMap(DNSServer.init) { dns = HostDNSOptions(resolver: server) }
        if !blacklists.isEmpty { dns.blacklists = blacklists }
        for provider in liveCheckProviders(compiled, skipOutside: skipOutside, dns: dns) {
            results += await provider()
        }
        if output == .json {
            try printJSON(results)
        } else {
            print(LiveCheckFormatter(color: useColor).format(results, title: "Mailroom doctor for \(source.name)"))
        }
        if !results.allSatisfy(\.verdict.passes) { throw ExitCode(1) }
    }
}

/// One source of live checks; `doctor` and the agent run every provider and list all results.
typealias LiveCheckProvider = @Sendable () async -> [LiveCheckResult]

/// The live checks of a compiled spec, in order: the host's facts, then its DNS (the public
/// IP's PTR, the hostname's A/AAAA, DNS blacklists), which reaches outside the host.
func liveCheckProviders(_ compiled: CompiledSpec, skipOutside: Bool, dns: HostDNSOptions) -> [LiveCheckProvider] {
    var doctor = HostDoctor()
    doctor.skipOutside = skipOutside
    let needs = hostRequirements(compiled)
    var providers: [LiveCheckProvider] = [{ [doctor] in await doctor.run(needs) }]
    if let settings = MailuSettings.of(compiled.spec, host: compiled.explicit.layout?.current),
        let hostname = settings.hostnames.first
    {
        let addresses = [settings.publicIPv4, settings.publicIPv6].compactMap(IPAddress.init)
        providers.append {
            guard !skipOutside || dns.explicitResolver else {
                return [
                    LiveCheckResult(
                        group: "outside", name: "host DNS", verdict: .skipped,
                        detail: "PTR, A/AAAA and blacklists query public DNS; skipped (--skip-outside)")
                ]
            }
            return await HostDNSChecks.run(
                hostname: hostname, addresses: addresses, client: dns.client, blacklists: dns.blacklists)
        }
    }
    return providers
}

/// Where the host's DNS checks ask, and which blacklists they look the public IP up in.
struct HostDNSOptions {
    var client = DNSClient()
    /// A resolver the operator named (a local one is not "outside").
    var explicitResolver = false
    var blacklists = HostDNSChecks.commonBlacklists

    init() {}

    init(resolver: DNSServer) {
        client = DNSClient(servers: [resolver])
        explicitResolver = true
    }
}

/// The agent's DNS record check: every record `mailroom dns --check` checks, for the spec
/// applied last (public DNS: outside the host).
func dnsRecordChecks(_ compiled: CompiledSpec, dns: DNSClient) -> LiveCheckProvider? {
    guard let settings = MailuSettings.of(compiled.spec) else { return nil }
    let keepsKeys = !compiled.explicit.keys.isEmpty
    return {
        let records = MailuDNS.records(settings, dkimPublicKeys: dkimPublicKeys(settings))
        return await DNSCheck.run(MailuDNS.checkable(records, keepsKeys: keepsKeys), client: dns)
    }
}

/// What the spec asks of the host, from its profile.
func hostRequirements(_ compiled: CompiledSpec) -> HostRequirements {
    if let settings = MailuSettings.of(compiled.spec, host: compiled.explicit.layout?.current) {
        return settings.hostRequirements(compiled.explicit)
    }
    // Only the Mailu profile exists; another would say what it needs here.
    return HostRequirements(
        memoryBytes: 2 * HostRequirements.gibibyte, memoryReason: "2 GiB",
        memoryPlusSwapBytes: 5 * HostRequirements.gibibyte)
}

/// The agent's periodic checks: those of the spec the host was last made to match (from the
/// journal), so the checks follow each rollout.
func agentLiveChecks(stateDirectory: String, hostName: String?, skipOutside: Bool) -> LiveCheckProvider {
    let pipeline = Pipeline(
        host: HostPaths(stateDirectory: stateDirectory, hostName: hostName), engine: nil, profile: mailroomProfile)
    return {
        guard let good = RolloutHistory.load(stateDirectory: stateDirectory).lastSucceeded(),
            let text = SpecArchive.load(rollout: good.id, in: stateDirectory)
        else {
            return [
                LiveCheckResult(
                    group: "host", name: "spec", verdict: .skipped,
                    detail: "nothing applied yet: the checks follow the first successful rollout")
            ]
        }
        guard
            let compiled = try? pipeline.compileWithoutHost(SpecText(text, file: "mailroom.yaml@\(good.id)"))
        else {
            return [
                LiveCheckResult(
                    group: "host", name: "spec", verdict: .error,
                    detail: "the applied spec of rollout \(good.id) does not compile any more")
            ]
        }
        var providers = liveCheckProviders(compiled, skipOutside: skipOutside, dns: HostDNSOptions())
        if !skipOutside, let records = dnsRecordChecks(compiled, dns: DNSClient()) { providers.append(records) }
        var results: [LiveCheckResult] = []
        for provider in providers { results += await provider() }
        return results
    }
}

/// Check results as a table: verdict, group, name, detail, and the fix under a failing one.
struct LiveCheckFormatter {
    var color: Bool

    func format(_ results: [LiveCheckResult], title: String) -> String {
        var lines = [title, ""]
        let width = min(28, results.map(\.name.count).max() ?? 0)
        for result in results {
            let verdict = result.verdict.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
            let name = result.name.padding(toLength: max(width, result.name.count), withPad: " ", startingAt: 0)
            lines.append("  \(paint(verdict, result.verdict))  \(name)  \(result.detail)")
            if !result.verdict.passes || result.verdict == .warning, let fix = result.fix {
                lines.append(
                    "  \(String(repeating: " ", count: 8))  \(String(repeating: " ", count: width))  fix: \(fix)")
            }
        }
        var counts: [String] = []
        for verdict in LiveCheckResult.Verdict.allCases {
            let n = results.filter { $0.verdict == verdict }.count
            if n > 0 { counts.append("\(n) \(verdict.rawValue)") }
        }
        lines += ["", "\(results.count) checks: \(counts.joined(separator: ", "))"]
        return lines.joined(separator: "\n")
    }

    private func paint(_ text: String, _ verdict: LiveCheckResult.Verdict) -> String {
        guard color else { return text }
        let code =
            switch verdict {
            case .ok: "32"
            case .warning: "33"
            case .missing, .wrong: "31"
            case .error: "35"
            case .skipped: "2"
            }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
