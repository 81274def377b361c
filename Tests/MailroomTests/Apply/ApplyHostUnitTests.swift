import Foundation
import Testing

@testable import MailroomApply
@testable import MailroomHost
@testable import MailroomMailu
@testable import MailroomRender
@testable import MailroomSpec
@testable import MailroomSupport
@testable import MailroomTestSupport

@Suite("Apply: the routes unit of a multi-host spec (fake systemd)", .serialized, .tags(.podman))
struct ApplyHostUnitTests {
    /// Written with the container units, then enabled and restarted after daemon-reload; left
    /// alone when it does not change.
    @Test func routesUnitRunsWhenItChanges() async throws {
        try await ApplyHarness.with { h in
            let units = h.deployment.host.unitsDirectory
            let systemd = RecordingServiceManager(unitsDirectory: units, runtimeDirectory: h.deployment.root)
            var host = h.deployment.host
            host.hostName = "a"
            func apply(_ address: String) async throws -> ApplyResult {
                let spec = h.deployment.standInSpec(
                    extra: """
                        hosts:
                          a: {address: 10.254.0.1}
                          b: {address: \(address), containers: [mailu-antivirus]}
                        """)
                try h.deployment.writeSpec(spec)
                let applier = Applier(
                    host: host, engine: try h.podman, profile: MailuProfile(), serviceManager: systemd,
                    options: ApplyHarness.options)
                return try await applier.apply(
                    try SpecText.directory(h.deployment.specDirectory), commit: nil, logger: ApplyHarness.logger)
            }
            let first = try await apply("10.254.0.2")
            #expect(first.status == .succeeded, "\(first.error ?? "")")
            let unit = try String(contentsOfFile: "\(units)/\(HostRoutes.fileName)", encoding: .utf8)
            #expect(
                unit.contains("ExecStart=/usr/sbin/ip route replace 10.213.\(h.deployment.index).128/25 via 10.254.0.2")
            )
            let actions = systemd.actions
            let reload = try #require(actions.firstIndex(of: .daemonReload))
            let enable = try #require(actions.firstIndex(of: .enable(HostRoutes.fileName)))
            let restart = try #require(actions.firstIndex(of: .restart(HostRoutes.fileName)))
            #expect(reload < enable && enable < restart)
            #expect(try await h.containers().count == 12)

            systemd.reset()
            #expect(try await apply("10.254.0.2").status == .noChanges)
            #expect(systemd.actions.isEmpty)

            // b moves on the private network: the unit changes and runs again; no container is touched.
            systemd.reset()
            let moved = try await apply("10.254.0.3")
            #expect(moved.status == .succeeded, "\(moved.error ?? "")")
            #expect(systemd.actions == [.daemonReload, .enable(HostRoutes.fileName), .restart(HostRoutes.fileName)])
        }
    }
}
