import Testing

@testable import MailroomAgent
@testable import MailroomSupport

extension PureTests {
    /// `host:` in the agent configuration: which share of a multi-host spec the agent converges.
    @Suite(.tags(.pure)) struct AgentHostTests {
        @Test func hostKeyReachesTheHostPaths() throws {
            let config = try AgentConfiguration.parse("repository: /r.git\nhost: scan\n", file: "agent.yaml")
            #expect(config.host.hostName == "scan")
            let defaults = try AgentConfiguration.parse("repository: /r.git\n", file: "agent.yaml")
            #expect(defaults.host.hostName == nil)
        }
    }
}
