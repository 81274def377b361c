import Foundation
import Testing

@testable import MailroomAgent
@testable import MailroomApply
@testable import MailroomHost
@testable import MailroomMailu
@testable import MailroomRender
@testable import MailroomSpec
@testable import MailroomSupport
@testable import MailroomTestSupport

/// A `mailroom agent` on one simulated host (``TestHosts``), `host:` set in its agent.yaml,
/// listening on the loopback of the host's network namespace.
struct HostAgent {
    let host: TestHosts.Host
    let child: ChildAgent
    let port: Int

    /// Writes the host's agent.yaml (its state, units and secrets, `host: NAME`) and starts the agent.
    static func start(on host: TestHosts.Host, _ d: TestDeployment, repository: String) throws -> HostAgent {
        // Each namespace has a loopback of its own: one port serves both.
        let port = d.portBase + 5
        let config = try d.writeAgentConfig(
            repository: repository, port: port, paths: host.paths, file: "agent-\(host.name).yaml")
        let child = try host.startAgent(config: config, log: d.root + "/agent-\(host.name).log")
        return HostAgent(host: host, child: child, port: port)
    }

    /// `mailroom status --output json` inside the host's namespace; nil while nothing answers.
    func status() async throws -> AgentStatus? {
        let result = try await host.run(
            [try MailroomBinary.path, "status", "--listen", "127.0.0.1:\(port)", "--output", "json"])
        return result.succeeded ? try? AgentStatus.decode(result.stdout) : nil
    }

    /// Waits until the agent has applied `commit` and is idle. The bound is for an agent that
    /// never gets there, far above any speed: the two hosts' first rollouts share two cores.
    func waitApplied(_ commit: String) async throws {
        try await waitFor("host \(host.name)'s agent applying \(commit.prefix(12))", timeout: .minutes(15)) {
            guard child.stillRunning else {
                throw TestSetupError("host \(host.name)'s agent exited:\n\(child.logText.suffix(3000))")
            }
            let status = try await status()
            if status?.appliedCommit == commit && status?.reconciling == false { return true }
            // Each look starts two processes: no need to look fifty times a second.
            try await Task.sleep(for: .milliseconds(300))
            return false
        }
    }

    var history: RolloutHistory { RolloutHistory.load(stateDirectory: host.paths.stateDirectory) }
}

extension MultiHostTests {
    /// The pull model for real: one repository, an agent on each host. A commit moving webdav
    /// from a to b is converged by both agents on their own: b creates it, a removes it, and
    /// each recreates its readers of the changed `mailu.env`; each journal records its rollout.
    @Test func agentsOnBothHostsConvergeAMoveFromOneCommit() async throws {
        try await TestDeployment.with("hosts-agents") { d in
            let hosts = try await TestHosts.make(["a", "b"], index: d.index, root: d.root + "/hosts")
            var repo: ScratchRepository?
            var agents: [HostAgent] = []
            do {
                // Each host writes its generated files on a disk of its own, as real hosts do.
                for host in hosts.hosts {
                    try await host.mountOwn(["mailu", "filter", "caddy2"].map { d.root + "/" + $0 })
                }
                repo = try ScratchRepository(files: ["mailroom.yaml": Self.spec(d, hosts: hosts)])
                try await Self.agentScenario(d, hosts, repo!, &agents)
            } catch {
                for agent in agents { agent.child.kill9() }
                await hosts.cleanup()
                repo?.remove()
                throw error
            }
            await hosts.cleanup()
            repo?.remove()
        }
    }

    static func agentScenario(
        _ d: TestDeployment, _ hosts: TestHosts, _ repo: ScratchRepository, _ agents: inout [HostAgent]
    ) async throws {
        let (a, b) = (hosts.hosts[0], hosts.hosts[1])
        let p = d.prefix
        let webdav = p + "mailu-webdav"
        let first = try repo.head()
        for host in [a, b] { agents.append(try HostAgent.start(on: host, d, repository: repo.origin)) }
        for agent in agents { try await agent.waitApplied(first) }
        #expect(try await Self.names(on: a).contains(webdav))
        #expect(try await !Self.names(on: b).contains(webdav))
        let before = [try await Self.containerIDs(on: a), try await Self.containerIDs(on: b)]
        #expect(before.map(\.count) == [10, 4])

        let moved = Self.spec(d, hosts: hosts, onB: ["mailu-webdav"])
        let second = try repo.commitAndPush(["mailroom.yaml": moved], message: "webdav to b")
        for agent in agents { try await agent.waitApplied(second) }

        let after = [try await Self.containerIDs(on: a), try await Self.containerIDs(on: b)]
        #expect(after[0][webdav] == nil && after[1][webdav] != nil)
        let oldText = Self.spec(d, hosts: hosts)
        for (index, agent) in agents.enumerated() {
            let host = agent.host
            // The containers whose configuration changed: the readers of mailu.env, whose
            // WEBDAV_ADDRESS moved. Only they are recreated; the rest keep running.
            let changed = try Self.changedContainers(from: oldText, to: moved, host: host)
            #expect(changed.contains(p + (host.name == "a" ? "mailu-front" : "mailu-antispam")), "\(changed)")
            for (name, id) in before[index] where name != webdav {
                #expect((after[index][name] != id) == changed.contains(name), "\(name) on \(host.name)")
            }
            let env = try String(contentsOfFile: host.ownPath(d.root + "/mailu/mailu.env"), encoding: .utf8)
            #expect(env.contains("WEBDAV_ADDRESS=10.213.\(d.index).169"), "mailu.env on \(host.name)")

            // The journal: this host's own rollout of the commit, with its own steps.
            let rollout = try #require(agent.history.rollouts.last { $0.commit == second })
            #expect(rollout.status == .succeeded, "\(rollout)")
            let steps = Set(rollout.steps.map { "\($0.action) \($0.target)" })
            #expect(steps.contains(host.name == "a" ? "container.remove \(webdav)" : "container.create \(webdav)"))
            for name in changed { #expect(steps.contains("container.recreate \(name)"), "\(name): \(steps)") }
            #expect(steps.contains("file.write \(d.root)/mailu/mailu.env"), "\(steps)")
        }

        for agent in agents {
            let exit = await agent.child.terminate()
            #expect(exit == 0, "host \(agent.host.name)'s agent:\n\(agent.child.logText.suffix(3000))")
        }
        agents.removeAll()
    }

    /// Name → container id, of every container on `host`.
    static func containerIDs(on host: TestHosts.Host) async throws -> [String: String] {
        let lines = try await host.podman(["ps", "-a", "--format", "{{.Names}} {{.ID}}"]).split(separator: "\n")
        return Dictionary(
            lines.map { line in
                let parts = line.split(separator: " ")
                return (String(parts[0]), String(parts.last ?? ""))
            }, uniquingKeysWith: { first, _ in first })
    }

    /// The containers on `host` in both specs whose rendered configuration differs.
    static func changedContainers(from old: String, to new: String, host: TestHosts.Host) throws -> Set<String> {
        func digests(_ text: String) throws -> [String: String] {
            let compiled = try compile(SpecText(text, file: "mailroom.yaml"), on: host)
            return Dictionary(uniqueKeysWithValues: compiled.desired.containers.map { ($0.name, $0.renderDigest) })
        }
        let before = try digests(old)
        return Set(try digests(new).filter { name, digest in before[name].map { $0 != digest } ?? false }.keys)
    }
}
