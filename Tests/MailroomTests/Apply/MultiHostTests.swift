import Foundation
import Testing

@testable import MailroomHost
@testable import MailroomMailu
@testable import MailroomRender
@testable import MailroomSpec
@testable import MailroomSupport
@testable import MailroomTestSupport

/// One spec, two hosts: two network namespaces on a bridge, each with its own podman. Each
/// `apply --host` converges its share; containers reach each other across the hosts, over IPv4
/// and IPv6, through the rendered routes; a container moves between hosts in either order,
/// by hand and through an agent on each host following one repository.
@Suite(.serialized, .tags(.podman)) struct MultiHostTests {
    /// The stand-in spec with `hosts:`: the scanners and a probe (busybox httpd answering its
    /// client's address through CGI) on b, everything else on a.
    static func spec(_ d: TestDeployment, hosts: TestHosts, onB extra: [String] = []) -> String {
        let a = hosts.hosts[0]
        let b = hosts.hosts[1]
        let onB = ["mailu-antivirus", "mailu-antispam", "mailu-oletools", "probe"] + extra
        let hostsSection = """
            hosts:
              a:
                address: \(a.address)
                address6: "\(a.address6)"
              b:
                address: \(b.address)
                address6: "\(b.address6)"
                containers: [\(onB.joined(separator: ", "))]
            """
        let cgi = "printf '#!/bin/sh\\\\necho Content-Type: text/plain\\\\necho\\\\necho $REMOTE_ADDR\\\\n'"
        let probe = """
              probe:
                image: \(StandInImages.busyboxImage)
                ip: 10.213.\(d.index).140
                # its own IPv6 address: one CNI chose would be a number the profile gives webdav on b
                ip6: "fd42:\(d.index)::8000:0:0:140"
                extra_args: [--init]
                log_driver: k8s-file
                command: [sh, -c, "mkdir -p /w/cgi-bin && \(cgi) > /w/cgi-bin/addr && busybox chmod 755 /w/cgi-bin/addr && exec httpd -f -p 8080 -h /w"]
            """
        return d.standInSpec(extra: hostsSection, containers: probe)
    }

    /// `host`'s share of a spec, as its `mailroom` compiles it (with a stand-in secret).
    static func compile(_ text: SpecText, on host: TestHosts.Host) throws -> CompiledSpec {
        var compiler = SpecCompiler(profile: MailuProfile(), unitsDirectory: host.paths.unitsDirectory)
        compiler.hostName = host.name
        return try compiler.compile(text, secrets: .values(SecretValues(path: "(test)", values: ["SECRET_KEY": "x"])))
    }

    /// What systemd does with the rendered `mailroom-hosts.service` on a real host: runs its commands.
    static func applyRoutes(_ d: TestDeployment, on host: TestHosts.Host) async throws {
        let compiled = try compile(SpecText.directory(d.specDirectory), on: host)
        let unit = try #require(compiled.desired.units.first { $0.path.hasSuffix("/" + HostRoutes.fileName) })
        for command in HostRoutes.commands(inUnit: unit.content) {
            let result = try await host.run(command.arguments)
            #expect(result.succeeded || command.mayFail, "\(command.arguments): \(result.stderrText)")
        }
    }

    static func names(on host: TestHosts.Host) async throws -> Set<String> {
        Set(try await host.podman(["ps", "--format", "{{.Names}}"]).split(separator: "\n").map(String.init))
    }

    @Test func twoHostsConvergeConnectOverIPv4AndIPv6AndMoveAContainer() async throws {
        try await TestDeployment.with("hosts") { d in
            let hosts = try await TestHosts.make(["a", "b"], index: d.index, root: d.root + "/hosts")
            do { try await Self.scenario(d, hosts) } catch {
                await hosts.cleanup()
                throw error
            }
            await hosts.cleanup()
        }
    }

    static func scenario(_ d: TestDeployment, _ hosts: TestHosts) async throws {
        do {
            let (a, b) = (hosts.hosts[0], hosts.hosts[1])
            try d.writeSpec(Self.spec(d, hosts: hosts))
            let p = d.prefix

            // A host the spec does not name is refused before anything changes.
            let nowhere = try await TestHosts.Host(
                name: "nowhere", namespace: a.namespace, address: "", address6: "", root: a.root
            )
            .mailroom(["apply", d.specDirectory, "--yes"])
            #expect(nowhere.status == 1, "\(nowhere.stdoutText)")
            #expect(
                (nowhere.stdoutText + nowhere.stderrText).contains(
                    "--host nowhere is none of the spec's hosts ('a', 'b')"))
            #expect(try await Self.names(on: a).isEmpty)

            for host in [a, b] {
                let applied = try await host.mailroom(["apply", d.specDirectory, "--yes"])
                #expect(applied.status == 0, "apply on \(host.name): \(applied.stdoutText) \(applied.stderrText)")
            }
            let scanners: Set = [p + "mailu-antivirus", p + "mailu-antispam", p + "mailu-oletools", p + "probe"]
            #expect(try await Self.names(on: b) == scanners)
            let onA = try await Self.names(on: a)
            #expect(onA.count == 10 && onA.isDisjoint(with: scanners))

            // Without the routes, a's containers cannot reach b's, over either IPv4 or IPv6.
            let probe = "http://10.213.\(d.index).140:8080/cgi-bin/addr"
            let probe6 = "http://[fd42:\(d.index)::8000:0:0:140]:8080/cgi-bin/addr"
            let front = p + "mailu-front"
            // `timeout`: a bound for a connection that hangs instead of failing (busybox-static's
            // own `wget -T` segfaults).
            let fetch = ["/usr/bin/podman", "exec", front, "busybox", "timeout", "60", "wget", "-q", "-O", "-"]
            for url in [probe, probe6] {
                let before = try await a.run(fetch + [url])
                #expect(!before.succeeded, "\(url) answered before the routes")
            }
            for host in [a, b] { try await Self.applyRoutes(d, on: host) }
            // With them: b's probe answers, and sees front's own address (no masquerade: Mailu trusts SUBNET).
            let answer = try await a.run(fetch + [probe])
            // (busybox httpd listens on IPv6 and writes an IPv4 client as [::ffff:a.b.c.d].)
            #expect(
                answer.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "[::ffff:10.213.\(d.index).32]")
            // The same over IPv6, between the containers' IPv6 addresses.
            let answer6 = try await a.run(fetch + [probe6])
            #expect(answer6.succeeded, "\(probe6): \(answer6.stderrText)")
            #expect(answer6.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "[fd42:\(d.index)::32]")

            // Both plans are empty after the applies.
            for host in [a, b] {
                let plan = try await host.mailroom(["plan", d.specDirectory])
                #expect(plan.status == 0, "plan on \(host.name): \(plan.stdoutText)\(plan.stderrText)")
            }

            // Move webdav from a to b, b applying first; then back, a applying first.
            let webdav = p + "mailu-webdav"
            for (onB, order) in [(["mailu-webdav"], [b, a]), ([], [a, b])] {
                try d.writeSpec(Self.spec(d, hosts: hosts, onB: onB))
                for host in order {
                    let applied = try await host.mailroom(["apply", d.specDirectory, "--yes"])
                    #expect(applied.status == 0, "apply on \(host.name): \(applied.stdoutText) \(applied.stderrText)")
                }
                let moved = !onB.isEmpty
                #expect(try await Self.names(on: b).contains(webdav) == moved)
                #expect(try await Self.names(on: a).contains(webdav) == !moved)
                let env = try String(contentsOfFile: d.root + "/mailu/mailu.env", encoding: .utf8)
                #expect(env.contains("WEBDAV_ADDRESS=10.213.\(d.index).\(moved ? 169 : 41)"))
                for host in [a, b] {
                    let plan = try await host.mailroom(["plan", d.specDirectory])
                    #expect(plan.status == 0, "plan on \(host.name): \(plan.stdoutText)\(plan.stderrText)")
                }
            }

            // Refused: fetchmail apart from admin; nothing changes on either host.
            try d.writeSpec(Self.spec(d, hosts: hosts, onB: ["mailu-fetchmail"]))
            let refused = try await b.mailroom(["apply", d.specDirectory, "--yes"])
            #expect(refused.status == 1)
            #expect((refused.stdoutText + refused.stderrText).contains("fetchmail reads a directory of admin's data"))
            #expect(try await Self.names(on: b) == scanners)
        }
    }
}
