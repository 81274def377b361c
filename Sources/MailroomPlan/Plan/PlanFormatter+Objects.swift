import MailroomSpec

/// The plan's lines for keys and the application's objects, terraform-style like the rest.
extension PlanFormatter {
    func keyLines(_ keys: [KeyFile]) -> [String] {
        keys.map {
            green("  + key \($0.path)")
                + dim("  \($0.purpose), created once and never replaced; publish its record (mailroom dkim)")
        }
    }

    func objectLines(_ objects: ObjectPlan?) -> [String] {
        guard let objects, objects.hasChanges || !objects.unmanaged.isEmpty else { return [] }
        var out: [String] = []
        if let pending = objects.pending { out.append(dim("  objects in \(objects.container): \(pending)")) }
        for change in objects.changes {
            let note = change.note.map { dim("  (\($0))") } ?? ""
            switch change.action {
            case .create: out.append(green("  + \(change.id)") + note)
            case .delete: out.append(red("  - \(change.id)") + note)
            case .adopt: out.append(yellow("  = \(change.id)") + " adopt: already as declared, recorded as managed")
            case .update:
                out.append(yellow("  ~ \(change.id)") + ": " + change.fields.map(\.field).joined(separator: ", "))
            }
            for field in change.fields {
                if let old = field.old, change.action == .update { out.append(red("      - \(field.field)=\(old)")) }
                if let new = field.new { out.append(green("      + \(field.field)=\(new)")) }
            }
        }
        if !objects.unmanaged.isEmpty {
            out.append(
                dim(
                    "  left alone (not in the spec, not made by Mailroom): "
                        + objects.unmanaged.joined(separator: ", ")))
        }
        return out
    }

    /// `Objects in mailu-admin: 2 to create, 1 to update.`, or nil when there is nothing to do.
    func objectSummary(_ objects: ObjectPlan?) -> String? {
        guard let objects, objects.hasChanges else { return nil }
        let counts = objects.changes.counts { "to \($0.rawValue)" }
        let pending = objects.pending == nil ? "" : " (read again once \(objects.container) is healthy)"
        return "Objects in \(objects.container): \(counts.isEmpty ? "none known yet" : counts.joined(separator: ", "))"
            + pending + "."
    }

    /// One line per key and object change, for the journal.
    public static func objectChangeLines(_ plan: Plan) -> [String] {
        plan.keys.map { "+ key \($0.path)" }
            + (plan.objects?.changes ?? []).map { change in
                let sign = [.create: "+", .update: "~", .delete: "-", .adopt: "="][change.action] ?? "~"
                let fields = change.action == .update ? ": " + change.fields.map(\.field).joined(separator: ", ") : ""
                return "\(sign) \(change.id)\(fields)"
            }
    }
}
