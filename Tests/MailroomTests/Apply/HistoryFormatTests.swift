import Foundation
import Testing

@testable import MailroomApply
@testable import MailroomPlan

extension PureTests {
    /// `history`'s CHANGES column says what a rollout did, and for one that did not succeed
    /// what it had planned too, each labelled.
    @Suite("History changes", .tags(.pure))
    struct HistoryFormatTests {
        static let planned = Plan.Summary(
            network: 1, create: 13, recreate: 0, start: 0, adopt: 0, remove: 0, inSync: 0, filesToWrite: 8,
            filesToDelete: 0, directories: 18)

        static func rollout(_ status: RolloutStatus?, steps: [(StepAction, StepRecord.Result)]) -> RolloutSummary {
            let time = Date(timeIntervalSince1970: 1_767_225_600)
            var start = JournalRecord(type: .start, rollout: "r1", time: time)
            start.summary = planned
            var records = [start]
            for (index, (action, result)) in steps.enumerated() {
                var record = JournalRecord(type: .step, rollout: "r1", time: time)
                record.step = StepRecord(
                    action: action, target: "t\(index)", command: nil, started: time, ended: time, result: result)
                records.append(record)
            }
            if let status {
                var end = JournalRecord(type: .end, rollout: "r1", time: time)
                end.status = status
                records.append(end)
            }
            return RolloutHistory(records: records).rollouts[0]
        }

        @Test(arguments: [
            (
                RolloutStatus.failed,
                [
                    (StepAction.networkCreate, StepRecord.Result.ok), (.directoryCreate, .ok),
                    (.containerCreate, .ok), (.containerCreate, .failed),
                ],
                "done: network, 1 dir, 1 created; planned: network, 13 created, 8 files, 18 dirs"
            ),
            (.failed, [(.imagePull, .failed)], "done: nothing; planned: network, 13 created, 8 files, 18 dirs"),
            (.refused, [(.imagePull, .failed)], "planned: network, 13 created, 8 files, 18 dirs"),
            (
                .interrupted, [(.imagePull, .ok), (.networkCreate, .ok)],
                "done: 1 pulled, network; planned: network, 13 created, 8 files, 18 dirs"
            ),
            (
                .succeeded, [(.networkCreate, .ok), (.fileWrite, .ok), (.fileWrite, .ok), (.containerCreate, .ok)],
                "network, 2 files, 1 created"
            ),
            (.succeeded, [], "no changes"),
        ])
        func changesColumn(status: RolloutStatus, steps: [(StepAction, StepRecord.Result)], expected: String) {
            let r = Self.rollout(status, steps: steps)
            #expect(r.changesLine(runningNow: false) == expected)
            #expect(ApplyFormatter(color: false).history([r], runningNow: nil).hasSuffix(expected))
        }

        @Test func runningRolloutSaysDoneSoFar() {
            let r = Self.rollout(nil, steps: [(.networkCreate, .ok)])
            #expect(
                r.changesLine(runningNow: true)
                    == "done so far: network; planned: network, 13 created, 8 files, 18 dirs")
            #expect(r.changesLine(runningNow: false).hasPrefix("done: network; planned: "))
        }
    }
}
