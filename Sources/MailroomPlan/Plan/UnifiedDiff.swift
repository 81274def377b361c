/// A unified diff of two texts (`diff -u` style hunks with three lines of context).
enum UnifiedDiff {
    static func make(old: String, new: String, context: Int = 3) -> String {
        let a = lines(old)
        let b = lines(new)
        // Trim the common head and tail first: generated files usually differ in a few lines.
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix, a[a.count - 1 - suffix] == b[b.count - 1 - suffix] {
            suffix += 1
        }
        let midA = Array(a[prefix..<(a.count - suffix)])
        let midB = Array(b[prefix..<(b.count - suffix)])

        // Longest common subsequence over the middle.
        var table = [[Int]](repeating: [Int](repeating: 0, count: midB.count + 1), count: midA.count + 1)
        if !midA.isEmpty && !midB.isEmpty {
            for i in stride(from: midA.count - 1, through: 0, by: -1) {
                for j in stride(from: midB.count - 1, through: 0, by: -1) {
                    table[i][j] = midA[i] == midB[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
                }
            }
        }
        enum Op { case same(String), del(String), add(String) }
        var ops: [Op] = a[..<prefix].map { .same($0) }
        var i = 0
        var j = 0
        while i < midA.count || j < midB.count {
            if i < midA.count, j < midB.count, midA[i] == midB[j] {
                ops.append(.same(midA[i]))
                i += 1
                j += 1
            } else if i < midA.count, j == midB.count || table[i + 1][j] >= table[i][j + 1] {
                // Deletions first on a tie: a changed line reads -old, then +new, as in `diff -u`.
                ops.append(.del(midA[i]))
                i += 1
            } else {
                ops.append(.add(midB[j]))
                j += 1
            }
        }
        ops += a[(a.count - suffix)...].map { .same($0) }

        // Group changes into hunks with context.
        let changed = ops.indices.filter { if case .same = ops[$0] { return false } else { return true } }
        guard !changed.isEmpty else { return "" }
        var hunks: [ClosedRange<Int>] = []
        for index in changed {
            let range = max(0, index - context)...min(ops.count - 1, index + context)
            if let last = hunks.last, range.lowerBound <= last.upperBound + 1 {
                hunks[hunks.count - 1] = last.lowerBound...range.upperBound
            } else {
                hunks.append(range)
            }
        }
        var output: [String] = []
        for hunk in hunks {
            var oldStart = 1
            var newStart = 1
            for op in ops[..<hunk.lowerBound] {
                switch op {
                case .same:
                    oldStart += 1
                    newStart += 1
                case .del: oldStart += 1
                case .add: newStart += 1
                }
            }
            var oldCount = 0
            var newCount = 0
            var body: [String] = []
            for op in ops[hunk] {
                switch op {
                case .same(let line):
                    body.append(" \(line)")
                    oldCount += 1
                    newCount += 1
                case .del(let line):
                    body.append("-\(line)")
                    oldCount += 1
                case .add(let line):
                    body.append("+\(line)")
                    newCount += 1
                }
            }
            output.append(
                "@@ -\(oldCount == 0 ? oldStart - 1 : oldStart),\(oldCount) +\(newCount == 0 ? newStart - 1 : newStart),\(newCount) @@"
            )
            output += body
        }
        return output.joined(separator: "\n")
    }

    private static func lines(_ text: String) -> [String] {
        var result = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if result.last == "" { result.removeLast() }
        return result
    }
}
