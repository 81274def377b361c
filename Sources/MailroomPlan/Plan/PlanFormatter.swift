/// Prints a plan for people, terraform-style: `+` create, `~` change, `-` remove.
public struct PlanFormatter: Sendable {
    public var color: Bool
    /// Show unified diffs of files (off: one line per file).
    public var showDiffs: Bool

    public init(color: Bool, showDiffs: Bool = true) {
        self.color = color
        self.showDiffs = showDiffs
    }

    func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
    func green(_ text: String) -> String { paint(text, "32") }
    func yellow(_ text: String) -> String { paint(text, "33") }
    func red(_ text: String) -> String { paint(text, "31") }
    func dim(_ text: String) -> String { paint(text, "2") }

    public func format(_ plan: Plan, title: String) -> String {
        var out: [String] = [title]
        out.append(
            plan.runner == .systemd
                ? "host: systemd is PID 1, so units are installed and own the containers"
                : "host: systemd is not PID 1, so containers are run directly with podman (units are rendered, not installed)"
        )
        for warning in plan.warnings { out.append(yellow("warning: ") + warning) }
        for conflict in plan.conflicts { out.append(red("conflict: ") + conflict) }
        out.append("")

        switch plan.network.action {
        case .create:
            out.append(
                green("  + network \(plan.network.name)")
                    + dim("  podman \(plan.network.arguments.joined(separator: " "))"))
        case .conflict: out.append(red("  ! network \(plan.network.name)") + "  \(plan.network.detail ?? "")")
        case .inSync: break
        }
        for image in plan.missingImages {
            out.append(green("  + image \(image)") + dim("  to pull (not on this host)"))
        }
        for directory in plan.directories { out.append(green("  + directory \(directory)")) }

        for change in plan.containers where change.action != .inSync {
            let wave = change.level.map { dim("  (wave \($0))") } ?? ""
            let reason = change.reasons.isEmpty ? "" : ": " + change.reasons.joined(separator: "; ")
            switch change.action {
            case .create: out.append(green("  + container \(change.name)") + wave)
            case .recreate: out.append(yellow("  ~ container \(change.name)") + " recreate\(reason)" + wave)
            case .start: out.append(yellow("  > container \(change.name)") + " start\(reason)" + wave)
            case .adopt: out.append(yellow("  = container \(change.name)") + " adopt\(reason)")
            case .remove: out.append(red("  - container \(change.name)") + " remove\(reason)")
            case .inSync: break
            }
            for field in change.fields {
                for value in field.removed { out.append(red("      - \(field.field)=\(value)")) }
                for value in field.added { out.append(green("      + \(field.field)=\(value)")) }
            }
        }
        for change in plan.files where change.action != .inSync {
            let label = change.kind == .unit ? "unit" : "file"
            let mode = change.mode.map { " (mode \(String($0, radix: 8)))" } ?? ""
            let reload = change.reload.map { dim("  then reload \($0.container)") } ?? ""
            switch change.action {
            case .create: out.append(green("  + \(label) \(change.path)") + mode + reload)
            case .update: out.append(yellow("  ~ \(label) \(change.path)") + mode + reload)
            case .delete: out.append(red("  - \(label) \(change.path)"))
            case .inSync: break
            }
            if showDiffs, change.action == .update {
                for line in change.diff.split(separator: "\n", omittingEmptySubsequences: false) {
                    let text = "      " + line
                    out.append(
                        line.hasPrefix("+")
                            ? green(text) : line.hasPrefix("-") ? red(text) : line.hasPrefix("@@") ? dim(text) : text)
                }
            }
        }
        out += keyLines(plan.keys) + objectLines(plan.objects)
        let s = plan.summary
        out.append("")
        if plan.hasChanges {
            var parts = [
                "\(s.create) to create", "\(s.recreate) to recreate", "\(s.start) to start", "\(s.remove) to remove",
            ]
            if s.adopt > 0 { parts.append("\(s.adopt) to adopt") }
            var sections = ["containers: \(parts.joined(separator: ", "))"]
            if s.network > 0 { sections.insert("network to create", at: 0) }
            sections.append("files: \(s.filesToWrite) to write, \(s.filesToDelete) to delete")
            if s.directories > 0 {
                sections.append(Self.count(s.directories, "directory", "directories") + " to create")
            }
            if !plan.missingImages.isEmpty {
                sections.append(Self.count(plan.missingImages.count, "image", "images") + " to pull")
            }
            out.append("Plan: \(sections.joined(separator: "; ")).")
            if let objects = objectSummary(plan.objects) { out.append(objects) }
        } else {
            out.append("No changes: the host matches the spec (\(s.inSync) containers in sync).")
        }
        return out.joined(separator: "\n")
    }

    /// `1 file`, `2 files`.
    public static func count(_ n: Int, _ one: String, _ many: String) -> String { "\(n) \(n == 1 ? one : many)" }
}
