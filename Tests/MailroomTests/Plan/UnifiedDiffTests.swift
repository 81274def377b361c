import Testing

@testable import MailroomPlan

extension PureTests {
    /// `UnifiedDiff.make`: hunks with three lines of context. Every expected text in `rows`
    /// is what GNU `diff -u` prints for the same two files (without the `---`/`+++` lines).
    @Suite(.tags(.pure))
    struct UnifiedDiffTests {
        struct Row: Sendable, CustomTestStringConvertible {
            var label: String
            var old: String
            var new: String
            var diff: String
            var testDescription: String { label }
        }

        /// Lines "1" … "n", each with its newline.
        static func numbers(_ range: ClosedRange<Int>, inserting: [Int: String] = [:]) -> String {
            range.map { "\($0)\n" + (inserting[$0].map { "\($0)\n" } ?? "") }.joined()
        }

        static let rows: [Row] = [
            Row(label: "same text", old: "a\nb\n", new: "a\nb\n", diff: ""),
            Row(label: "both empty", old: "", new: "", diff: ""),
            Row(label: "insertion", old: "a\nb\nc\n", new: "a\nb\nX\nc\n", diff: "@@ -1,3 +1,4 @@\n a\n b\n+X\n c"),
            Row(label: "insertion at the start", old: "a\nb\n", new: "z\na\nb\n", diff: "@@ -1,2 +1,3 @@\n+z\n a\n b"),
            Row(label: "insertion at the end", old: "a\nb\n", new: "a\nb\nc\n", diff: "@@ -1,2 +1,3 @@\n a\n b\n+c"),
            Row(label: "deletion", old: "a\nb\nc\n", new: "a\nc\n", diff: "@@ -1,3 +1,2 @@\n a\n-b\n c"),
            Row(
                label: "deletion of a run", old: numbers(1...8), new: "1\n2\n6\n7\n8\n",
                diff: "@@ -1,8 +1,5 @@\n 1\n 2\n-3\n-4\n-5\n 6\n 7\n 8"),
            Row(label: "deletion of a blank line", old: "a\n\nb\n", new: "a\nb\n", diff: "@@ -1,3 +1,2 @@\n a\n-\n b"),
            Row(label: "repeated lines", old: "a\na\na\n", new: "a\na\n", diff: "@@ -1,3 +1,2 @@\n a\n a\n-a"),
            Row(label: "empty file to text", old: "", new: "x\ny\n", diff: "@@ -0,0 +1,2 @@\n+x\n+y"),
            Row(label: "text to empty file", old: "x\ny\n", new: "", diff: "@@ -1,2 +0,0 @@\n-x\n-y"),
            Row(
                label: "three lines of context", old: numbers(1...10), new: numbers(1...10, inserting: [5: "new5"]),
                diff: "@@ -3,6 +3,7 @@\n 3\n 4\n 5\n+new5\n 6\n 7\n 8"),
            // Six unchanged lines between two changes: one hunk; seven: two.
            Row(
                label: "changes six lines apart share a hunk", old: numbers(1...20),
                new: numbers(1...20, inserting: [4: "new4", 10: "new10"]),
                diff: "@@ -2,12 +2,14 @@\n 2\n 3\n 4\n+new4\n 5\n 6\n 7\n 8\n 9\n 10\n+new10\n 11\n 12\n 13"),
            Row(
                label: "changes seven lines apart get two hunks", old: numbers(1...20),
                new: numbers(1...20, inserting: [4: "new4", 11: "new11"]),
                diff:
                    "@@ -2,6 +2,7 @@\n 2\n 3\n 4\n+new4\n 5\n 6\n 7\n@@ -9,6 +10,7 @@\n 9\n 10\n 11\n+new11\n 12\n 13\n 14"
            ),
        ]

        @Test(arguments: rows)
        func diff(_ row: Row) {
            #expect(UnifiedDiff.make(old: row.old, new: row.new) == row.diff)
        }

        @Test func contextWidth() {
            let new = Self.numbers(1...10, inserting: [5: "new5"])
            #expect(
                UnifiedDiff.make(old: Self.numbers(1...10), new: new, context: 1) == "@@ -5,2 +5,3 @@\n 5\n+new5\n 6")
            #expect(UnifiedDiff.make(old: Self.numbers(1...10), new: new, context: 0) == "@@ -5,0 +6,1 @@\n+new5")
        }

        /// A changed line counts once on each side.
        @Test func replacedLines() {
            let diff = UnifiedDiff.make(old: "a\nb\nc\nd\n", new: "a\nB\nC\nd\n")
            let lines = diff.split(separator: "\n").map(String.init)
            #expect(lines.first == "@@ -1,4 +1,4 @@")
            #expect(Set(lines.dropFirst()) == [" a", "-b", "-c", "+B", "+C", " d"])
            #expect(lines.count == 7)
        }

        /// `diff -u` (and git) print a change as its old lines, then its new ones.
        @Test(arguments: [
            Row(label: "one line", old: "a\nb\nc\n", new: "a\nB\nc\n", diff: "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c"),
            Row(
                label: "two lines", old: "a\nb\nc\nd\n", new: "a\nB\nC\nd\n",
                diff: "@@ -1,4 +1,4 @@\n a\n-b\n-c\n+B\n+C\n d"),
        ])
        func replacedLinesReadOldThenNew(_ row: Row) {
            #expect(UnifiedDiff.make(old: row.old, new: row.new) == row.diff)
        }

        /// Lines are compared without their final newline: a text with and one without it
        /// read the same. (`diff -u` would say "\ No newline at end of file"; see
        /// PlannerTableTests.onlyTheFinalNewlineDiffers for what the plan then says.)
        @Test func finalNewlineIsNotALine() {
            #expect(UnifiedDiff.make(old: "a\nb", new: "a\nb\n") == "")
            #expect(UnifiedDiff.make(old: "a\nb", new: "a\nb\nc") == "@@ -1,2 +1,3 @@\n a\n b\n+c")
            // An empty last line is a line.
            #expect(UnifiedDiff.make(old: "a\n", new: "a\n\n") == "@@ -1,1 +1,2 @@\n a\n+")
        }
    }
}
