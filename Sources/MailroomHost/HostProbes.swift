import Foundation
import MailroomSupport

/// What `podman info` says about the engine.
package struct PodmanFacts: Sendable, Equatable {
    package var version: String
    /// `netavark` or `cni`.
    package var networkBackend: String

    package init(version: String, networkBackend: String) {
        self.version = version
        self.networkBackend = networkBackend
    }
}

/// Whether `podman.socket` is set up: systemd's view when systemd runs, else whether a
/// service answers on the socket.
package struct PodmanSocketFacts: Sendable, Equatable {
    /// `systemctl is-enabled` / `is-active` words; nil without systemd.
    package var enabled: String?
    package var active: String?
    package var path: String
    package var answers: Bool

    package init(enabled: String? = nil, active: String? = nil, path: String, answers: Bool) {
        self.enabled = enabled
        self.active = active
        self.path = path
        self.answers = answers
    }
}

/// The certificate a TLS server presented, or why none was read.
package struct CertificateFacts: Sendable, Equatable {
    /// Why no certificate was read (connection refused, handshake failed); nil when one was.
    package var failure: String?
    package var notAfter: Date?
    package var subject: String = ""
    package var issuer: String = ""
    /// openssl's verification: 0 is trusted and matching the name.
    package var verifyCode: Int?
    package var verifyText: String = ""

    package init(failure: String) { self.failure = failure }

    package init(notAfter: Date, subject: String, issuer: String, verifyCode: Int, verifyText: String) {
        self.notAfter = notAfter
        self.subject = subject
        self.issuer = issuer
        self.verifyCode = verifyCode
        self.verifyText = verifyText
    }
}

/// The commands `mailroom doctor` runs to read the host: podman, systemctl, firewall-cmd, nft,
/// openssl. Each returns what it found; a command that is missing or fails becomes a fact
/// ("not installed"), not an error, so every check still gets a verdict.
package struct HostProbes: Sendable {
    package var runner: ProcessRunner

    package init(runner: ProcessRunner = ProcessRunner()) {
        self.runner = runner
    }

    /// `podman info --format json`: version and network backend.
    package func podman() async -> Result<PodmanFacts, ProbeError> {
        guard let podman = ProcessRunner.which("podman") else {
            return .failure(ProbeError("podman is not installed"))
        }
        do {
            let result = try await runner.run([podman, "info", "--format", "json"])
            guard result.succeeded else { return .failure(ProbeError("podman info failed: \(result.stderrText)")) }
            let info = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any] ?? [:]
            let version = (info["version"] as? [String: Any])?["Version"] as? String ?? "?"
            let backend = (info["host"] as? [String: Any])?["networkBackend"] as? String ?? "cni"
            return .success(PodmanFacts(version: version, networkBackend: backend))
        } catch {
            return .failure(ProbeError("podman info: \(error)"))
        }
    }

    /// systemd's `podman.socket` when systemd runs; the socket file and a `/_ping` either way.
    package func podmanSocket() async -> PodmanSocketFacts {
        let path = ProcessInfo.processInfo.environment["MAILROOM_PODMAN_SOCKET"] ?? PodmanSocket.defaultPath
        var facts = PodmanSocketFacts(path: path, answers: false)
        if let podman = PodmanCLI.locate(runner: runner) {
            facts.answers = await PodmanSocket.locate(cli: podman) != nil
        }
        if let systemctl = Systemctl.detect(runner: runner) {
            func word(_ verb: String) async -> String {
                let result = try? await runner.run([systemctl.executable, verb, "podman.socket"])
                let text = result?.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                return text.isEmpty ? "unknown" : text
            }
            facts.enabled = await word("is-enabled")
            facts.active = await word("is-active")
        }
        return facts
    }

    /// firewalld's default zone when firewalld runs, else the nftables ruleset.
    package func firewall() async -> Firewall {
        if let firewallCmd = ProcessRunner.which("firewall-cmd") {
            let state = try? await runner.run([firewallCmd, "--state"])
            if state?.succeeded == true {
                guard let result = try? await runner.run([firewallCmd, "--list-all"]), result.succeeded,
                    let zone = FirewalldZone.parse(listAll: result.stdoutText)
                else { return .unreadable("firewall-cmd --list-all failed") }
                return .firewalld(zone)
            }
        }
        guard let nft = ProcessRunner.which("nft") else {
            return .none("firewalld is not running and nft is not installed")
        }
        guard let result = try? await runner.run([nft, "-j", "list", "ruleset"]), result.succeeded else {
            return .unreadable("nft -j list ruleset failed (run as root)")
        }
        guard let ruleset = NFTRuleset.parse(json: result.stdout) else {
            return .unreadable("nft -j list ruleset printed no JSON ruleset")
        }
        return ruleset.hasInputHook ? .nftables(ruleset) : .none("no nftables chain filters incoming packets")
    }

    /// The certificate served at `host:port` for `serverName`, through `openssl s_client`
    /// (bounded by `timeout`) and `openssl x509`. `caFile` adds a trusted root (tests trust
    /// Caddy's local CA with it).
    package func certificate(host: String, port: Int, serverName: String, caFile: String? = nil) async
        -> CertificateFacts
    {
        guard let openssl = ProcessRunner.which("openssl"), let timeout = ProcessRunner.which("timeout") else {
            return CertificateFacts(failure: "openssl is not installed (apt-get install openssl)")
        }
        let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var arguments = [
            timeout, "20", openssl, "s_client", "-connect", address, "-servername", serverName, "-verify_hostname",
            serverName,
        ]
        if let caFile { arguments += ["-CAfile", caFile] }
        guard let hello = try? await runner.run(arguments, input: Data()) else {
            return CertificateFacts(failure: "cannot run openssl")
        }
        let output = hello.stdoutText
        guard let begin = output.range(of: "-----BEGIN CERTIFICATE-----"),
            let end = output.range(of: "-----END CERTIFICATE-----", range: begin.upperBound..<output.endIndex)
        else {
            let reason = hello.stderrText.split(separator: "\n").first.map(String.init) ?? "no certificate"
            return CertificateFacts(failure: hello.status == 124 ? "no answer within 20 s" : reason)
        }
        let pem = String(output[begin.lowerBound..<end.upperBound]) + "\n"
        var verifyCode = -1
        var verifyText = "not verified"
        if let line = output.split(separator: "\n").last(where: { $0.contains("Verify return code:") }) {
            let rest = line.split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? ""
            verifyCode = Int(rest.prefix { $0.isNumber }) ?? -1
            verifyText = rest
        }
        guard
            let x509 = try? await runner.run(
                [openssl, "x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-subject", "-issuer"],
                input: Data(pem.utf8)), x509.succeeded
        else { return CertificateFacts(failure: "openssl x509 could not read the certificate") }
        var fields: [String: String] = [:]
        for line in x509.stdoutText.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        guard let notAfter = fields["notAfter"].flatMap(Self.parseISODate) else {
            return CertificateFacts(failure: "openssl x509 printed no end date")
        }
        return CertificateFacts(
            notAfter: notAfter, subject: fields["subject"] ?? "", issuer: fields["issuer"] ?? "",
            verifyCode: verifyCode, verifyText: verifyText)
    }

    /// `2026-01-01 00:00:00Z`, as `openssl x509 -dateopt iso_8601` prints it.
    static func parseISODate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss'Z'"
        return formatter.date(from: text)
    }

    /// Opens a TCP connection to `host:port` (a name is resolved by the system resolver) and
    /// closes it; nil on success, else why not. Bounded by `timeout` seconds per address.
    package static func connect(host: String, port: Int, timeout: Int32 = 10) async -> String? {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: connectBlocking(host, port, timeout)) }
        }
    }

    private static func connectBlocking(_ host: String, _ port: Int, _ timeout: Int32) -> String? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            return "cannot resolve \(host): \(String(cString: gai_strerror(status)))"
        }
        defer { freeaddrinfo(list) }
        var reason = "no address for \(host)"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return nil }
            guard errno == EINPROGRESS else {
                reason = String(cString: strerror(errno))
                continue
            }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&poller, 1, timeout * 1000) == 1 else {
                reason = "no answer within \(timeout) s"
                continue
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error == 0 { return nil }
            reason = String(cString: strerror(error))
        }
        return reason
    }
}

/// A probe that could not read its fact (a command missing or failing).
package struct ProbeError: Error, Sendable, Equatable, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
