import MailroomRender

/// The difference between two desired states (two commits of a spec), with no host involved:
/// the preview of a pull request. `mailroom diff REV_A REV_B` prints it.
public struct DesiredStateDiff: Sendable, Equatable, Codable {
    public var network: [FieldChange]
    public var containers: [ContainerDiff]
    public var files: [FileDiff]
    /// The application's declared objects (users, aliases, ...) that differ.
    public var objects: [ObjectChange] = []

    public var isEmpty: Bool { network.isEmpty && containers.isEmpty && files.isEmpty && objects.isEmpty }

    public struct ContainerDiff: Sendable, Equatable, Codable {
        public enum Change: String, Sendable, Codable { case added, removed, changed }
        public var name: String
        public var change: Change
        public var fields: [FieldChange]
        /// Changed generated files the container reads at start (so it would be recreated).
        public var inputs: [String]
    }

    public struct FileDiff: Sendable, Equatable, Codable {
        public enum Change: String, Sendable, Codable { case added, removed, changed }
        public var path: String
        public var kind: FileChange.Kind
        public var change: Change
        public var diff: String
    }

    public init(from old: DesiredState, to new: DesiredState) {
        network = ContainerFields(values: ["network create": new.network.arguments])
            .differences(from: ContainerFields(values: ["network create": old.network.arguments]))

        var files: [FileDiff] = []
        for (kind, before, after) in [(FileChange.Kind.file, old.files, new.files), (.unit, old.units, new.units)] {
            let oldByPath = Dictionary(before.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
            let newPaths = Set(after.map(\.path))
            for file in after {
                if let previous = oldByPath[file.path] {
                    guard previous.content != file.content || previous.mode != file.mode else { continue }
                    let diff = UnifiedDiff.make(old: previous.displayContent, new: file.displayContent)
                    files.append(
                        FileDiff(
                            path: file.path, kind: kind, change: .changed,
                            diff: diff.isEmpty ? "(secret values or mode changed)" : diff))
                } else {
                    files.append(
                        FileDiff(
                            path: file.path, kind: kind, change: .added,
                            diff: UnifiedDiff.make(old: "", new: file.displayContent)))
                }
            }
            for file in before where !newPaths.contains(file.path) {
                files.append(
                    FileDiff(
                        path: file.path, kind: kind, change: .removed,
                        diff: UnifiedDiff.make(old: file.displayContent, new: "")))
            }
        }
        self.files = files
        let changedFiles = Set(files.map(\.path))

        var containers: [ContainerDiff] = []
        let oldByName = Dictionary(old.containers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for c in new.containers {
            let fields = ContainerFields(arguments: c.arguments)
            guard let previous = oldByName[c.name] else {
                containers.append(
                    ContainerDiff(
                        name: c.name, change: .added, fields: fields.differences(from: ContainerFields(values: [:])),
                        inputs: []))
                continue
            }
            let changes = fields.differences(from: ContainerFields(arguments: previous.arguments))
            let inputs = c.consumedFiles.filter(changedFiles.contains)
            if !changes.isEmpty || !inputs.isEmpty {
                containers.append(ContainerDiff(name: c.name, change: .changed, fields: changes, inputs: inputs))
            }
        }
        let newNames = Set(new.containers.map(\.name))
        for c in old.containers where !newNames.contains(c.name) {
            containers.append(ContainerDiff(name: c.name, change: .removed, fields: [], inputs: []))
        }
        self.containers = containers
        objects = ObjectPlanner.diff(from: old.objects, to: new.objects)
    }
}

extension PlanFormatter {
    public func format(_ diff: DesiredStateDiff, title: String) -> String {
        var out = [title, ""]
        for field in diff.network {
            out.append(yellow("  ~ network"))
            out.append(red("      - podman \(field.removed.joined(separator: " "))"))
            out.append(green("      + podman \(field.added.joined(separator: " "))"))
        }
        for c in diff.containers {
            switch c.change {
            case .added: out.append(green("  + container \(c.name)"))
            case .removed: out.append(red("  - container \(c.name)"))
            case .changed:
                let inputs =
                    c.inputs.isEmpty ? "" : " (reads changed \(c.inputs.map(\.lastComponent).joined(separator: ", ")))"
                out.append(yellow("  ~ container \(c.name)") + inputs)
            }
            if c.change != .added {
                for field in c.fields {
                    for value in field.removed { out.append(red("      - \(field.field)=\(value)")) }
                    for value in field.added { out.append(green("      + \(field.field)=\(value)")) }
                }
            }
        }
        for f in diff.files {
            let label = f.kind == .unit ? "unit" : "file"
            switch f.change {
            case .added: out.append(green("  + \(label) \(f.path)"))
            case .removed: out.append(red("  - \(label) \(f.path)"))
            case .changed:
                out.append(yellow("  ~ \(label) \(f.path)"))
                if showDiffs {
                    for line in f.diff.split(separator: "\n", omittingEmptySubsequences: false) {
                        let text = "      " + line
                        out.append(
                            line.hasPrefix("+")
                                ? green(text)
                                : line.hasPrefix("-") ? red(text) : line.hasPrefix("@@") ? dim(text) : text)
                    }
                }
            }
        }
        out += objectLines(
            ObjectPlan(container: "", changes: diff.objects, unmanaged: [], pending: nil, conflicts: []))
        out.append("")
        out.append(
            diff.isEmpty
                ? "No differences in the desired state."
                : "Diff: \(Self.count(diff.containers.count, "container", "containers")), "
                    + "\(Self.count(diff.files.count, "file", "files"))\(diff.network.isEmpty ? "" : ", the network")"
                    + "\(diff.objects.isEmpty ? "" : ", " + Self.count(diff.objects.count, "object", "objects")) differ."
        )
        return out.joined(separator: "\n")
    }
}
