import MailroomRender

/// A desired container and the host's container of the same name, paired before anything is
/// compared, as gitops-engine's `sync/reconcile.go` pairs target and live objects by key. The
/// pairing decides which changes a name can get at all; ``Planner`` diffs each pair.
enum ContainerPairing {
    /// In the spec, not on the host: created.
    case missing(DesiredContainer)
    /// In the spec, and on the host with Mailroom's label: kept, started or recreated.
    case managed(DesiredContainer, ObservedContainer)
    /// In the spec, and on the host without the label: adopted if it matches, else recreated.
    case unmanaged(DesiredContainer, ObservedContainer)
    /// Labelled, gone from the spec, and in this host's record: removed.
    case stale(ObservedContainer)
    /// Labelled and gone from the spec, but not in this host's record: left alone.
    case unrecorded(ObservedContainer)

    /// Desired containers in start order (by wave, then spec order), then the labelled ones the
    /// spec no longer has, by name. Containers without the label that the spec does not name are
    /// not Mailroom's and are not paired.
    static func pair(desired: DesiredState, actual: ActualState) -> [ContainerPairing] {
        let ordered = desired.containers.enumerated()
            .sorted { ($0.element.level, $0.offset) < ($1.element.level, $1.offset) }.map(\.element)
        let wanted: [ContainerPairing] = ordered.map { c in
            guard let observed = actual.containers[c.name] else { return .missing(c) }
            return observed.managed ? .managed(c, observed) : .unmanaged(c, observed)
        }
        let desiredNames = Set(desired.containers.map(\.name))
        let leftovers = actual.containers.values.sorted { $0.name < $1.name }
            .filter { $0.managed && !desiredNames.contains($0.name) }
        // Only what this host's record says Mailroom applied is pruned: another deployment's
        // containers (another prefix, another state directory) carry the same label.
        return wanted + leftovers.map { actual.applied.containers[$0.name] != nil ? .stale($0) : .unrecorded($0) }
    }
}
