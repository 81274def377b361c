import Testing

@testable import MailroomSpec

extension PureTests {
    /// `depends_on` as a graph: start levels and waves, dependents, cycles.
    @Suite(.tags(.pure))
    struct DependencyGraphTests {
        /// Containers in spec order, each written "name: dependency dependency".
        static func graph(_ lines: [String]) -> DependencyGraph {
            DependencyGraph(
                lines.map { line in
                    let parts = line.split(separator: ":", maxSplits: 1)
                    let dependencies = parts.count > 1 ? parts[1].split(separator: " ").map(String.init) : []
                    return PureTests.definition(String(parts[0])) { $0.dependsOn = dependencies }
                })
        }

        struct Row: Sendable, CustomTestStringConvertible {
            var label: String
            var containers: [String]
            var levels: [String: Int]
            var waves: [[String]]
            var testDescription: String { label }
        }

        static let acyclic: [Row] = [
            Row(
                label: "no dependencies", containers: ["a", "b", "c"],
                levels: ["a": 0, "b": 0, "c": 0], waves: [["a", "b", "c"]]),
            Row(
                label: "chain written backwards", containers: ["c: b", "b: a", "a"],
                levels: ["a": 0, "b": 1, "c": 2], waves: [["a"], ["b"], ["c"]]),
            Row(
                label: "diamond", containers: ["top", "left: top", "right: top", "bottom: left right"],
                levels: ["top": 0, "left": 1, "right": 1, "bottom": 2],
                waves: [["top"], ["left", "right"], ["bottom"]]),
            Row(
                label: "the deepest dependency sets the level", containers: ["c: a b", "a", "b: a"],
                levels: ["a": 0, "b": 1, "c": 2], waves: [["a"], ["b"], ["c"]]),
            Row(
                label: "unknown names are ignored", containers: ["a: ghost", "b: a ghost"],
                levels: ["a": 0, "b": 1], waves: [["a"], ["b"]]),
            // The guide's start order: resolver first, fetchmail after admin, smtp and imap.
            Row(
                label: "guide",
                containers: [
                    "resolver", "front: resolver", "redis", "admin: resolver redis", "imap: resolver front",
                    "smtp: resolver front",
                    "fetchmail: admin smtp imap", "caddy2",
                ],
                levels: [
                    "resolver": 0, "front": 1, "redis": 0, "admin": 1, "imap": 2, "smtp": 2, "fetchmail": 3,
                    "caddy2": 0,
                ],
                waves: [["resolver", "redis", "caddy2"], ["front", "admin"], ["imap", "smtp"], ["fetchmail"]]),
        ]

        @Test(arguments: acyclic)
        func levelsAndWaves(_ row: Row) {
            let graph = Self.graph(row.containers)
            #expect(graph.levels == row.levels)
            #expect(graph.waves == row.waves)
            #expect(graph.cycles == [])
        }

        @Test func emptyGraph() {
            let graph = DependencyGraph([])
            #expect(graph.levels == [:])
            #expect(graph.waves == [])
            #expect(graph.cycles == [])
        }

        struct CycleRow: Sendable, CustomTestStringConvertible {
            var label: String
            var containers: [String]
            var cycles: [[String]]
            var testDescription: String { label }
        }

        static let cyclic: [CycleRow] = [
            CycleRow(label: "self", containers: ["a: a"], cycles: [["a"]]),
            CycleRow(label: "two", containers: ["a: b", "b: a"], cycles: [["a", "b"]]),
            // Found from every member, reported once, starting at the first in spec order.
            CycleRow(
                label: "three, found once", containers: ["x", "b: c", "c: a", "a: b"], cycles: [["b", "c", "a"]]),
            CycleRow(label: "rotated to spec order", containers: ["c: a", "a: b", "b: c"], cycles: [["c", "a", "b"]]),
            CycleRow(label: "reached through a tail", containers: ["t: a", "a: b", "b: a"], cycles: [["a", "b"]]),
            CycleRow(
                label: "two separate", containers: ["a: b", "b: a", "c: d", "d: c"], cycles: [["a", "b"], ["c", "d"]]),
            CycleRow(label: "through an unknown name is no cycle", containers: ["a: ghost", "ghost2: a"], cycles: []),
        ]

        @Test(arguments: cyclic)
        func cycles(_ row: CycleRow) {
            let graph = Self.graph(row.containers)
            #expect(graph.cycles == row.cycles)
            // Levels still finish and name every container (validation reports the cycle).
            #expect(Set(graph.levels.keys) == Set(graph.names))
        }

        @Test func dependents() {
            let graph = Self.graph(["top", "left: top", "right: top", "bottom: left right", "other", "a: ghost"])
            #expect(graph.dependents(of: "top") == ["left", "right", "bottom"])
            #expect(graph.dependents(of: "left") == ["bottom"])
            #expect(graph.dependents(of: "bottom") == [])
            #expect(graph.dependents(of: "other") == [])
            #expect(graph.dependents(of: "ghost") == ["a"])
            // In a cycle a container depends on itself.
            #expect(Self.graph(["a: b", "b: a"]).dependents(of: "a") == ["a", "b"])
        }

        @Test func duplicateNamesKeepTheFirstDefinition() {
            let graph = Self.graph(["a: b", "b", "a"])
            #expect(graph.names == ["a", "b", "a"])
            #expect(graph.dependencies["a"] == ["b"])
        }
    }
}
