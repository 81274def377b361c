/// The `depends_on` graph: start order by level, cycles, and who depends on whom.
public struct DependencyGraph: Sendable {
    /// Container names in spec order.
    public let names: [String]
    public let dependencies: [String: [String]]

    public init(_ containers: [ContainerDefinition]) {
        names = containers.map(\.name)
        dependencies = Dictionary(containers.map { ($0.name, $0.dependsOn) }, uniquingKeysWith: { first, _ in first })
    }

    /// Level 0 has no dependencies; a container's level is one more than its deepest dependency.
    /// Containers of one level can start together. Unknown names and cycles are ignored here.
    public var levels: [String: Int] {
        var memo: [String: Int] = [:]
        var visiting = Set<String>()
        func level(_ name: String) -> Int {
            if let known = memo[name] { return known }
            guard visiting.insert(name).inserted else { return 0 }
            let deps = (dependencies[name] ?? []).filter { dependencies[$0] != nil }
            let value = deps.map { level($0) + 1 }.max() ?? 0
            visiting.remove(name)
            memo[name] = value
            return value
        }
        for name in names { _ = level(name) }
        return memo
    }

    /// Names grouped by level, each group in spec order.
    public var waves: [[String]] {
        let levels = self.levels
        let count = (levels.values.max() ?? -1) + 1
        return (0..<count).map { level in names.filter { levels[$0] == level } }
    }

    /// Every container that depends on `name`, directly or not.
    public func dependents(of name: String) -> Set<String> {
        var result = Set<String>()
        var frontier = [name]
        while let current = frontier.popLast() {
            for candidate in names
            where dependencies[candidate]?.contains(current) == true && result.insert(candidate).inserted {
                frontier.append(candidate)
            }
        }
        return result
    }

    /// Each cycle once, starting at its first name in spec order.
    public var cycles: [[String]] {
        var found: [[String]] = []
        var done = Set<String>()
        func visit(_ name: String, _ path: [String]) {
            if let start = path.firstIndex(of: name) {
                let cycle = Array(path[start...])
                let rotated =
                    cycle.min(by: { names.firstIndex(of: $0)! < names.firstIndex(of: $1)! }).map { first -> [String] in
                        let i = cycle.firstIndex(of: first)!
                        return Array(cycle[i...] + cycle[..<i])
                    } ?? cycle
                if !found.contains(rotated) { found.append(rotated) }
                return
            }
            guard !done.contains(name) else { return }
            for dependency in dependencies[name] ?? [] where dependencies[dependency] != nil {
                visit(dependency, path + [name])
            }
            if path.isEmpty { done.insert(name) }
        }
        for name in names { visit(name, []) }
        return found
    }
}
