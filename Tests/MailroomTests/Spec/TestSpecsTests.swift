import Testing

@testable import MailroomSupport
@testable import MailroomTestSupport

extension PureTests {
    /// The shared fixture texts are what they say they are.
    @Suite("Test specs", .tags(.pure))
    struct TestSpecsTests {
        @Test("the minimal spec compiles without a problem, with the guide's defaults filled in")
        func minimalSpecIsValid() throws {
            #expect(Fixtures.diagnostics(TestSpecs.minimal).isEmpty)
            let compiled = try Fixtures.compile(TestSpecs.minimal)
            #expect(compiled.desired.containers.count == 13)
            #expect(compiled.desired.network.name == "mailu")
        }
    }
}
