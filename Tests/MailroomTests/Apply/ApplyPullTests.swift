import Foundation
import Testing

@testable import MailroomApply
@testable import MailroomHost
@testable import MailroomPlan
@testable import MailroomSupport
@testable import MailroomTestSupport

/// Pull first: every image a rollout needs is in local storage before anything on the host
/// changes, so an image that cannot be pulled refuses the rollout with the host as it was.
@Suite("Apply pulls images first", .serialized, .tags(.podman))
struct ApplyPullTests {
    /// `localhost/…` is pulled from 127.0.0.1:443, where nothing listens: it fails at once,
    /// without leaving the machine.
    static let missingImage = "localhost/mailroom-test/does-not-exist:1"

    @Test("an image that cannot be pulled: refused, no network, directory, file or container changed")
    func unpullableImageChangesNothing() async throws {
        try await ApplyHarness.with { h in try await unpullable(h) }
    }

    func unpullable(_ h: ApplyHarness) async throws {
        let spec = h.deployment.standInSpec(overrides: ["mailu-resolver": ["image": Self.missingImage]])
        try h.deployment.writeSpec(spec)
        let before = Self.tree(h.deployment)

        // plan names the image it would pull, in text and JSON.
        let plan = try await MailroomBinary.run(["plan", h.deployment.specDirectory], host: h.deployment.host)
        #expect(plan.status == 2, "\(plan.stderrText)")
        #expect(plan.stdoutText.contains("+ image \(Self.missingImage)"))
        #expect(plan.stdoutText.contains("; 1 image to pull."))
        let json = try await MailroomBinary.run(
            ["plan", h.deployment.specDirectory, "--output", "json"], host: h.deployment.host)
        #expect(try JSONDecoder().decode(Plan.self, from: json.stdout).missingImages == [Self.missingImage])

        // apply: refused after the pull, with nothing else run.
        let result = try await h.apply(spec)
        #expect(result.status == .refused)
        #expect(
            result.error?.hasPrefix("image \(Self.missingImage) could not be pulled: ") == true,
            "\(result.error ?? "")")
        #expect(result.error?.hasSuffix("; nothing was changed") == true)
        #expect(Set(h.recorder.mutatingPodmanCalls.map { $0.first ?? "" }) == ["pull"])
        #expect(try await h.containers().isEmpty)
        let networks = try await TestPodman.podman().listNetworks()
        #expect(!networks.contains { $0.name == h.deployment.networkName })
        #expect(Self.tree(h.deployment) == before, "directories or files were created")

        // The journal says refused, and why, with the failed pull as its one step.
        let last = try #require(h.history.rollouts.last)
        #expect(last.status == .refused)
        #expect(last.error?.contains("image \(Self.missingImage) could not be pulled") == true)
        #expect(
            last.steps.map { "\($0.action) \($0.target) \($0.result)" } == ["image.pull \(Self.missingImage) failed"])

        // The CLI says the same and exits 1.
        let cli = try await MailroomBinary.run(["apply", h.deployment.specDirectory, "--yes"], host: h.deployment.host)
        #expect(cli.status == 1)
        #expect(cli.stdoutText.contains("refused:\n  image \(Self.missingImage) could not be pulled: "))
        #expect(cli.stdoutText.contains("; nothing was changed"))
        #expect(try await h.containers().isEmpty)
        #expect(Self.tree(h.deployment) == before)
        #expect(h.history.rollouts.map(\.status) == [.refused, .refused])
    }

    @Test("images present locally are not pulled; a dry run lists the pulls it would make")
    func presentImagesAreNotPulled() async throws {
        try await ApplyHarness.with { h in
            let spec = h.deployment.standInSpec(overrides: ["mailu-resolver": ["image": Self.missingImage]])
            try h.deployment.writeSpec(spec)
            let dry = try await h.applier(ApplyOptions(dryRun: true)).apply(
                try SpecText.directory(h.deployment.specDirectory), logger: ApplyHarness.logger)
            #expect(dry.status == .dryRun)
            #expect(
                dry.steps.first.map { "\($0.action) \($0.target) \($0.result)" }
                    == "image.pull \(Self.missingImage) planned")
            #expect(!h.recorder.podmanCalls.contains { $0.first == "pull" })

            // The stand-ins are all local: checked, never pulled.
            h.recorder.reset()
            let first = try await h.apply(h.deployment.standInSpec())
            #expect(first.status == .succeeded, "\(first.error ?? "")")
            #expect(first.plan?.missingImages == [])
            #expect(!h.recorder.podmanCalls.contains { $0.first == "pull" })
            #expect(h.recorder.podmanCalls.contains { $0.prefix(2) == ["image", "exists"] })

            // Over podman's REST socket the check is a request, with the same answers.
            let started = try await TestPodman.startService(
                socket: h.deployment.root + "/podman.sock", cli: try h.podman)
            defer {
                started?.service.stop()
                unsetenv("MAILROOM_PODMAN_SOCKET")
            }
            let rest = try #require(started?.socket, "podman system service did not answer")
            #expect(try await rest.imageExists(StandInImages.registry + "/nginx:2.0"))
            #expect(try await !rest.imageExists(Self.missingImage))
        }
    }

    @Test("missing images are pulled before the first change, a few at a time, with progress")
    func pullsComeFirst() async throws {
        try await ApplyHarness.with { h in
            // A name no stand-in has, per run: the fake registry serves it by tagging a stand-in.
            let image = "localhost/mailroom-test/pulled-\(h.deployment.prefix.dropLast()):1"
            let registry = FakeRegistryEngine(
                podman: try h.podman, serves: [image: StandInImages.registry + "/unbound:2.0"])
            let events = EventLog()
            var options = ApplyOptions(healthTimeout: .seconds(5))
            options.pullProgress = { event in events.append(event) }
            let result = try await h.apply(
                h.deployment.standInSpec(overrides: ["mailu-resolver": ["image": image]]), options: options,
                engine: registry)
            #expect(result.status == .succeeded, "\(result.error ?? "")")
            #expect(result.plan?.missingImages == [image])
            #expect(result.steps.first.map { "\($0.action) \($0.target) \($0.result)" } == "image.pull \(image) ok")
            #expect(result.steps.dropFirst().first?.action == .networkCreate)
            #expect(events.all.map(\.image) == [image, image])
            #expect(try await h.containers()[h.name("mailu-resolver")]?.image == image)
            #expect(h.history.rollouts.last?.steps.first?.action == .imagePull)
            // Only the name goes: the image is the stand-in's, which its containers still use.
            _ = try await TestPodman.run(["untag", image, image])
        }
    }

    /// Every path under the sandbox but the state directory (the journal is written there).
    static func tree(_ deployment: TestDeployment) -> [String] {
        let state = deployment.host.stateDirectory
        let entries = FileManager.default.enumerator(atPath: deployment.root)?.allObjects as? [String] ?? []
        return entries.map { deployment.root + "/" + $0 }.filter { $0 != state && !$0.hasPrefix(state + "/") }.sorted()
    }
}

/// A fake for the one thing this machine lacks, a registry: it "pulls" an image by tagging a
/// local one with the requested name. Every other call is real podman.
struct FakeRegistryEngine: ContainerEngine {
    let podman: PodmanCLI
    /// Reference → the local image it is served from.
    let serves: [String: String]

    func listContainers() async throws -> [ContainerSummary] { try await podman.listContainers() }
    func listNetworks() async throws -> [NetworkSummary] { try await podman.listNetworks() }
    func inspectContainers(_ names: [String]) async throws -> [ContainerInspection] {
        try await podman.inspectContainers(names)
    }
    func imageExists(_ reference: String) async throws -> Bool { try await podman.imageExists(reference) }
    func pullImage(_ reference: String) async throws {
        guard let source = serves[reference] else { return try await podman.pullImage(reference) }
        try await podman.execute(["tag", source, reference])
    }
    func execute(_ arguments: [String], input: Data?) async throws -> ProcessResult {
        try await podman.execute(arguments, input: input)
    }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [ImagePullProgress] = []
    func append(_ event: ImagePullProgress) { lock.withLock { events.append(event) } }
    var all: [ImagePullProgress] { lock.withLock { events } }
}

extension ImagePullProgress {
    var image: String {
        switch self {
        case .started(let image), .pulled(let image, _), .failed(let image, _): image
        }
    }
}
