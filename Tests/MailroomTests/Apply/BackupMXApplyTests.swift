import Foundation
import Testing

@testable import MailroomApply
@testable import MailroomMailu
@testable import MailroomPlan
@testable import MailroomSpec
@testable import MailroomSupport
@testable import MailroomTestSupport

/// One spec, a primary and a backup MX: two network namespaces, each with its own podman and
/// its own Mailu directories. `apply --host mx2` runs a receiving-only Mailu on its own subnet
/// whose admin holds every domain as a relay to the primary; the primary is untouched by it.
@Suite(.serialized, .tags(.podman)) struct BackupMXApplyTests {
    static func spec(_ d: TestDeployment, hosts: TestHosts, backupSubnet: String) -> String {
        d.standInSpec(
            extra: """
                hosts:
                  mail:
                    address: \(hosts.hosts[0].address)
                  mx2:
                    role: backup-mx
                    hostname: mx2.example.com
                    public_ipv4: 127.0.0.1
                    subnet: \(backupSubnet)
                """)
    }

    static func names(on host: TestHosts.Host) async throws -> Set<String> {
        Set(try await host.podman(["ps", "--format", "{{.Names}}"]).split(separator: "\n").map(String.init))
    }

    static func ids(on host: TestHosts.Host) async throws -> String {
        try await host.podman(["ps", "--all", "--format", "{{.ID}} {{.Names}}", "--sort", "names"])
    }

    /// A file as the host sees it (the backup's Mailu directories are its own).
    static func read(_ path: String, on host: TestHosts.Host) async throws -> String {
        let result = try await host.run(["/usr/bin/cat", path])
        guard result.succeeded else { throw TestSetupError("cat \(path) on \(host.name): \(result.stderrText)") }
        return result.stdoutText
    }

    /// The fake Mailu admin's objects on a host: kind → key → fields.
    static func objects(_ d: TestDeployment, on host: TestHosts.Host) async throws -> [String: [String: [String:
        ObjectValue]]]
    {
        let text = try await read(d.root + "/mailu/data/fake-mailu.json", on: host)
        guard case .exported(let objects) = try ObservedObjects.parse(Data(text.utf8), kinds: MailSettings.kinds)
        else { return [:] }
        return objects
    }

    @Test func aBackupMXRunsAReceivingMailuThatRelaysToThePrimary() async throws {
        try await TestDeployment.with("bmx") { d in
            try await TestHosts.with(["mail", "mx2"], index: d.index, root: d.root + "/hosts") { hosts in
                try await Self.scenario(d, hosts)
            }
        }
    }

    static func scenario(_ d: TestDeployment, _ hosts: TestHosts) async throws {
        let (mail, mx2) = (hosts.hosts[0], hosts.hosts[1])
        // Two machines do not share a disk: the backup's Mailu and Caddy directories are its own.
        try await mx2.mountOwn([d.root + "/mailu", d.root + "/caddy2", d.root + "/filter"])
        let backupSubnet = "10.214.\(d.index).0/24"
        try d.writeSpec(Self.spec(d, hosts: hosts, backupSubnet: backupSubnet))
        let p = d.prefix

        for host in [mail, mx2] {
            let applied = try await host.mailroom(["apply", d.specDirectory, "--yes"])
            #expect(applied.status == 0, "apply on \(host.name): \(applied.stdoutText) \(applied.stderrText)")
        }
        let receiving = [
            "caddy2", "mailu-resolver", "mailu-front", "mailu-redis", "mailu-admin", "mailu-imap", "mailu-smtp",
            "mailu-antispam",
        ]
        #expect(try await Self.names(on: mx2) == Set(receiving.map { p + $0 }))
        #expect(try await Self.names(on: mail).count == 13)

        // Its own network and SUBNET, outside the one the primary trusts.
        let network = try await mx2.podman([
            "network", "inspect", p + "net", "--format", "{{range .Subnets}}{{.Subnet}} {{end}}",
        ])
        #expect(network.trimmingCharacters(in: .whitespacesAndNewlines) == backupSubnet)
        let backupEnv = try await Self.read(d.root + "/mailu/mailu.env", on: mx2)
        #expect(backupEnv.contains("\nSUBNET=\(backupSubnet)\n"))
        #expect(backupEnv.contains("\nHOSTNAMES=mx2.example.com\n"))
        #expect(backupEnv.contains("\nSMTP_ADDRESS=10.214.\(d.index).37\n"))
        let primaryEnv = try await Self.read(d.root + "/mailu/mailu.env", on: mail)
        #expect(primaryEnv.contains("\nSUBNET=10.213.\(d.index).0/24\n"))
        #expect(!primaryEnv.contains("10.214."))

        // The backup's admin relays the domain to the primary; the primary holds it as its own.
        let relayed = try await Self.objects(d, on: mx2)
        #expect(relayed["relay"]?["example.com"]?["smtp"] == .string("mail.example.com"))
        #expect(relayed["domain"]?.isEmpty ?? true)
        let own = try await Self.objects(d, on: mail)
        #expect(own["domain"]?["example.com"] != nil)
        #expect(own["relay"]?.isEmpty ?? true)
        // No DKIM key on the backup: it signs nothing.
        #expect(!(try await mx2.run(["/usr/bin/test", "-e", d.root + "/mailu/dkim/example.com.dkim.key"])).succeeded)

        for host in [mail, mx2] {
            let plan = try await host.mailroom(["plan", d.specDirectory])
            #expect(plan.status == 0, "plan on \(host.name): \(plan.stdoutText)\(plan.stderrText)")
            #expect(plan.stdoutText.contains("No changes"), "plan on \(host.name): \(plan.stdoutText)")
        }

        // A backup subnet inside SUBNET would make it trusted (an open relay): refused, nothing changes.
        let before = try await Self.ids(on: mx2)
        try d.writeSpec(Self.spec(d, hosts: hosts, backupSubnet: "10.213.\(d.index).128/25"))
        let refused = try await mx2.mailroom(["apply", d.specDirectory, "--yes"])
        #expect(refused.status == 1)
        #expect(
            (refused.stdoutText + refused.stderrText).contains("lies inside the primary's trusted SUBNET"),
            "\(refused.stdoutText)\(refused.stderrText)")
        #expect(try await Self.ids(on: mx2) == before)
        #expect(try await Self.read(d.root + "/mailu/mailu.env", on: mx2) == backupEnv)
    }
}
