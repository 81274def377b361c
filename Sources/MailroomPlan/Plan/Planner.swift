import Crypto
import MailroomHost
import MailroomRender
import MailroomSpec
import MailroomSupport

/// Pairs desired and actual state by name and diffs each pair. Pure: no I/O.
public enum Planner {
    /// The config hash of a desired container: its arguments, the generated files it reads,
    /// and the current content of the host paths it reads at start.
    public static func configHash(_ c: DesiredContainer, actual: ActualState) -> String {
        var hasher = SHA256()
        hasher.update(data: Array(c.renderDigest.utf8))
        for input in c.contentInputs {
            hasher.update(data: Array("\0\(input)\0\(actual.contentDigests[input] ?? "missing")".utf8))
        }
        return String(hex(hasher.finalize()).prefix(32))
    }

    /// Pairs, then diffs each kind: the network, directories, files, units and containers.
    public static func plan(desired: DesiredState, actual: ActualState, warnings: [String] = []) -> Plan {
        let network = networkChange(desired.network, existing: actual.network)
        let managedFiles =
            fileChanges(desired.files, kind: .file, actual: actual)
            + unitChanges(desired, actual: actual)
        let changedFiles = Set(managedFiles.filter { $0.action != .inSync }.map(\.path))
        let files = managedFiles + fileDeletions(keeping: Set(managedFiles.map(\.path)), actual: actual)

        let pairings = ContainerPairing.pair(desired: desired, actual: actual)
        let filesByPath = Dictionary(desired.files.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let containers = pairings.compactMap { pairing in
            containerChange(pairing, actual: actual, filesByPath: filesByPath, changedFiles: changedFiles)
        }
        var allWarnings = warnings + pairings.compactMap { unrecordedWarning($0, network: desired.network.name) }
        if actual.engine == nil {
            allWarnings.append("podman is not installed: planned against an empty host")
        }
        let objects = desired.objects.map { store in
            ObjectPlanner.plan(
                store, observed: actual.objects ?? .unavailable("not read"), applied: actual.applied)
        }
        return Plan(
            network: network, containers: containers, files: files, directories: directoryChanges(actual),
            runner: actual.systemd ? .systemd : .direct, warnings: allWarnings,
            conflicts: (network.action == .conflict ? network.detail.map { [$0] } ?? [] : [])
                + (objects?.conflicts ?? []),
            objects: objects, keys: desired.keys.filter { actual.missingKeys.contains($0.path) })
    }

    // MARK: - Network and directories

    /// Created when missing. One with other subnets is a conflict: Mailroom never replaces a
    /// network, since every container on it would have to be removed first.
    static func networkChange(_ desired: DesiredNetwork, existing: NetworkSummary?) -> NetworkChange {
        let create = NetworkChange(name: desired.name, action: .create, arguments: desired.arguments)
        guard let existing else { return create }
        let have = Set(existing.subnets.map { Subnet($0.subnet)?.description ?? $0.subnet })
        let want = Set(desired.subnets.compactMap { Subnet($0)?.description })
        if have == want { return NetworkChange(name: desired.name, action: .inSync, arguments: desired.arguments) }
        let detail =
            "network \(existing.name) exists with subnets \(have.sorted().joined(separator: ", "))"
            + " but the spec says \(want.sorted().joined(separator: ", ")); Mailroom never replaces a network:"
            + " change the spec or remove the network by hand"
        return NetworkChange(name: desired.name, action: .conflict, arguments: desired.arguments, detail: detail)
    }

    /// The desired directories that are missing; the observer found them, as there is nothing
    /// to compare in a directory but its existence.
    static func directoryChanges(_ actual: ActualState) -> [String] {
        actual.missingDirectories
    }

    // MARK: - Files and units

    /// Each file against its content and mode on the host.
    static func fileChanges(_ files: [FileDefinition], kind: FileChange.Kind, actual: ActualState) -> [FileChange] {
        files.map { file in fileChange(file, kind: kind, observed: actual.files[file.path]) }
    }

    /// The installed units, compared like files; only when systemd owns the containers.
    static func unitChanges(_ desired: DesiredState, actual: ActualState) -> [FileChange] {
        guard actual.systemd else { return [] }
        return fileChanges(units(desired, actual: actual), kind: .unit, actual: actual)
    }

    /// One file: created, updated (content or mode) or in sync. Diffs show secrets redacted.
    static func fileChange(_ file: FileDefinition, kind: FileChange.Kind, observed: ObservedFile?) -> FileChange {
        guard let content = observed?.content else {
            return FileChange(
                path: file.path, kind: kind, action: .create, mode: file.mode,
                diff: UnifiedDiff.make(old: "", new: file.displayContent), reload: file.reload)
        }
        let mode = observed?.mode
        if content == file.content && mode == file.mode {
            return FileChange(
                path: file.path, kind: kind, action: .inSync, mode: file.mode, diff: "",
                reload: file.reload)
        }
        let old = file.redactions.filter { !$0.isEmpty }.reduce(content) { $0.replacingAll($1, with: "(secret)") }
        var diff = UnifiedDiff.make(old: old, new: file.displayContent)
        if diff.isEmpty {
            diff =
                content == file.content
                ? "mode \(String(mode ?? 0, radix: 8)) → \(String(file.mode, radix: 8))" : "(secret values changed)"
        }
        return FileChange(
            path: file.path, kind: kind, action: .update, mode: file.mode, diff: diff,
            reload: file.reload)
    }

    /// Files Mailroom wrote before (its record says so) that no desired file or unit keeps.
    static func fileDeletions(keeping wanted: Set<String>, actual: ActualState) -> [FileChange] {
        actual.applied.files.filter { !wanted.contains($0) && actual.files[$0]?.exists == true }.map { path in
            FileChange(
                path: path, kind: path.hasSuffix(".service") ? .unit : .file, action: .delete, mode: nil,
                diff: UnifiedDiff.make(old: actual.files[path]?.content ?? "", new: ""), reload: nil)
        }
    }

    // MARK: - Containers

    /// The change for one pair; nil for a container that is left alone.
    static func containerChange(
        _ pairing: ContainerPairing, actual: ActualState,
        filesByPath: [String: FileDefinition], changedFiles: Set<String>
    ) -> ContainerChange? {
        switch pairing {
        case .missing(let c):
            var change = inSync(c, actual: actual)
            change.action = .create
            change.reasons = ["not on the host"]
            return change
        case .managed(let c, let observed):
            return managedChange(
                c, observed: observed, actual: actual, filesByPath: filesByPath,
                changedFiles: changedFiles)
        case .unmanaged(let c, let observed):
            return unmanagedChange(c, observed: observed, actual: actual, filesByPath: filesByPath)
        case .stale(let observed):
            let why = "managed by Mailroom and no longer in the spec (its volumes and data stay)"
            return ContainerChange(
                name: observed.name, action: .remove, level: nil, reasons: [why], fields: [],
                arguments: nil, configHash: nil)
        case .unrecorded:
            return nil
        }
    }

    /// A desired container with nothing to do yet, labelled with its config hash.
    static func inSync(_ c: DesiredContainer, actual: ActualState) -> ContainerChange {
        ContainerChange(
            name: c.name, action: .inSync, level: c.level, reasons: [], fields: [], arguments: c.arguments,
            configHash: configHash(c, actual: actual))
    }

    /// Mailroom's own container: in sync or started when its hash matches; recreated otherwise,
    /// with the flags that changed since it was applied (or since someone changed it by hand).
    static func managedChange(
        _ c: DesiredContainer, observed: ObservedContainer, actual: ActualState,
        filesByPath: [String: FileDefinition], changedFiles: Set<String>
    ) -> ContainerChange {
        var change = inSync(c, actual: actual)
        if observed.configHash == change.configHash {
            if observed.neverStarted {
                // Mailroom only makes containers with `podman container run`: one that never
                // started is what a `run` cut short left, and podman cannot be trusted to start
                // it (its IP or ports may still be held): it is made again.
                change.action = .recreate
                change.reasons = [
                    "half-created (\(observed.summary.state), never started: an interrupted podman run); made again"
                ]
            } else if !observed.isRunning {
                change.action = .start
                change.reasons = ["\(observed.summary.state)"]
            }
            return change
        }
        change.action = .recreate
        if let record = actual.applied.containers[c.name], observed.configHash == record.configHash {
            let applied = ContainerFields(arguments: record.arguments)
            change.fields = ContainerFields(arguments: c.arguments).differences(from: applied)
            change.reasons = reasons(
                c, fields: change.fields, changedFiles: changedFiles, actual: actual,
                record: record)
        } else if let inspection = observed.inspection {
            change.fields = inspectedDifferences(c, inspection: inspection, filesByPath: filesByPath)
            change.reasons = ["changed outside Mailroom"]
        } else {
            change.reasons = ["config hash changed"]
        }
        return change
    }

    /// A container made by hand under a desired name: adopted without a restart when it runs and
    /// matches the spec, recreated otherwise.
    static func unmanagedChange(
        _ c: DesiredContainer, observed: ObservedContainer, actual: ActualState,
        filesByPath: [String: FileDefinition]
    ) -> ContainerChange {
        var change = inSync(c, actual: actual)
        guard let inspection = observed.inspection else {
            change.action = .recreate
            change.reasons = ["made outside Mailroom"]
            return change
        }
        change.fields = inspectedDifferences(c, inspection: inspection, filesByPath: filesByPath)
        if change.fields.isEmpty && observed.isRunning {
            change.action = .adopt
            change.reasons = ["made outside Mailroom; matches the spec, so it is adopted without a restart"]
        } else {
            change.action = .recreate
            change.reasons = [
                "made outside Mailroom"
                    + (change.fields.isEmpty ? " and not running" : "; differs from the spec")
            ]
        }
        return change
    }

    /// The spec's flags against what podman reports, with env files read as the spec writes them.
    static func inspectedDifferences(
        _ c: DesiredContainer, inspection: ContainerInspection,
        filesByPath: [String: FileDefinition]
    ) -> [FieldChange] {
        let contents = Dictionary(
            c.consumedFiles.compactMap { path in filesByPath[path].map { (path, $0.content) } },
            uniquingKeysWith: { first, _ in first })
        let (want, have) = ContainerFields.comparable(
            desired: ContainerFields(arguments: c.arguments),
            envFiles: contents, inspection: inspection)
        return want.differences(from: have)
    }

    /// A labelled container on this deployment's network that the record does not know: said,
    /// since it may be a leftover the user wants gone.
    static func unrecordedWarning(_ pairing: ContainerPairing, network: String) -> String? {
        guard case .unrecorded(let observed) = pairing, observed.summary.networks.contains(network) else { return nil }
        return "\(observed.name) is labelled \(PodmanArguments.managedLabel) and on network \(network) but not in this "
            + "host's record, so it is left alone; remove it by hand if it is no longer wanted"
    }

    /// The units Mailroom installs when systemd owns the containers: the rendered units with
    /// the config hash label added, so a container its unit starts is recognised as applied.
    /// No commit label: a new commit that changes nothing must not rewrite every unit.
    public static func units(_ desired: DesiredState, actual: ActualState) -> [FileDefinition] {
        let byFileName = Dictionary(
            desired.containers.map { (SystemdUnit.fileName(for: $0.name), $0) }, uniquingKeysWith: { first, _ in first }
        )
        return desired.units.map { unit in
            guard let c = byFileName[unit.path.lastComponent] else { return unit }
            var installed = unit
            let labels = [
                KeyValue(PodmanArguments.managedLabel, "true"),
                KeyValue(PodmanArguments.hashLabel, configHash(c, actual: actual)),
            ]
            installed.content = SystemdUnit.render(
                c.definition, arguments: PodmanArguments.run(c.definition, extraLabels: labels))
            return installed
        }
    }

    /// Words for why a managed container is recreated, beyond its changed flags.
    static func reasons(
        _ c: DesiredContainer, fields: [FieldChange], changedFiles: Set<String>, actual: ActualState,
        record: AppliedState.AppliedContainer
    ) -> [String] {
        var reasons: [String] = []
        if !fields.isEmpty { reasons.append("arguments changed: \(fields.map(\.field).joined(separator: ", "))") }
        for path in c.consumedFiles where changedFiles.contains(path) {
            reasons.append("\(path.lastComponent) changed")
        }
        if !c.contentInputs.isEmpty, reasons.isEmpty {
            reasons.append("content of \(c.contentInputs.joined(separator: ", ")) changed")
        }
        if reasons.isEmpty { reasons.append("config hash changed") }
        return reasons
    }
}

extension String {
    /// The last path component.
    package var lastComponent: String { split(separator: "/").last.map(String.init) ?? self }
}
