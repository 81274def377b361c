import Foundation
import Logging

@testable import MailroomApply
@testable import MailroomHost
@testable import MailroomMailu
@testable import MailroomPlan
@testable import MailroomSupport
@testable import MailroomTestSupport

/// A test deployment with an applier whose podman calls are recorded.
struct ApplyHarness {
    let deployment: TestDeployment
    let recorder = CallRecorder()
    /// The stand-ins have no health checks: a short settle time keeps rollouts quick.
    static let options: ApplyOptions = {
        var options = ApplyOptions(healthTimeout: .seconds(5))
        options.settleTime = .milliseconds(500)
        return options
    }()
    static let logger = Logger(label: "mailroom.test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func make() async throws -> ApplyHarness {
        try await TestPodman.ensureImages()
        return ApplyHarness(deployment: try await TestDeployment.make())
    }

    /// Runs `body` with a fresh harness and removes what it created, also when it throws.
    static func with(_ body: (ApplyHarness) async throws -> Void) async throws {
        let h = try await make()
        do { try await body(h) } catch {
            await h.deployment.cleanup()
            throw error
        }
        await h.deployment.cleanup()
    }

    var podman: PodmanCLI {
        get throws { try TestPodman.podman(runner: ProcessRunner(observer: recorder.observer)) }
    }

    func applier(
        _ options: ApplyOptions = ApplyHarness.options, serviceManager: (any ServiceManager)? = nil,
        engine: (any ContainerEngine)? = nil
    ) throws -> Applier {
        Applier(
            host: deployment.host, engine: try engine ?? podman, profile: MailuProfile(),
            serviceManager: serviceManager, options: options)
    }

    /// Applies spec text (also written to the spec directory, as a user would).
    func apply(
        _ text: String, commit: String? = nil, options: ApplyOptions = ApplyHarness.options,
        serviceManager: (any ServiceManager)? = nil, engine: (any ContainerEngine)? = nil
    ) async throws -> ApplyResult {
        try deployment.writeSpec(text)
        return try await applier(options, serviceManager: serviceManager, engine: engine)
            .apply(try SpecText.directory(deployment.specDirectory), commit: commit, logger: Self.logger)
    }

    /// This deployment's containers on the host, by name.
    func containers() async throws -> [String: ContainerSummary] {
        let all = try await TestPodman.podman().listContainers()
        return Dictionary(
            all.filter { $0.name.hasPrefix(deployment.prefix) }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    func name(_ profileName: String) -> String { deployment.prefix + profileName }

    var history: RolloutHistory { RolloutHistory.load(stateDirectory: deployment.host.stateDirectory) }

    var applied: AppliedState {
        get throws { try AppliedState.load(stateDirectory: deployment.host.stateDirectory) }
    }
}

/// The 9 containers that read `mailu.env` in the guide.
let mailuEnvReaders: Set<String> = [
    "mailu-resolver", "mailu-front", "mailu-admin", "mailu-imap", "mailu-smtp", "mailu-antivirus", "mailu-fetchmail",
    "mailu-webmail", "mailu-antispam",
]
