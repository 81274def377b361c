import Crypto
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

    public static func plan(desired: DesiredState, actual: ActualState, warnings: [String] = []) -> Plan {
        var conflicts: [String] = []
        let network: NetworkChange
        if let existing = actual.network {
            let have = Set(existing.subnets.map { Subnet($0.subnet)?.description ?? $0.subnet })
            let want = Set(desired.network.subnets.compactMap { Subnet($0)?.description })
            if have == want {
                network = NetworkChange(name: desired.network.name, action: .inSync, arguments: desired.network.arguments)
            } else {
                let detail = "network \(existing.name) exists with subnets \(have.sorted().joined(separator: ", ")) but the spec says \(want.sorted().joined(separator: ", ")); Mailroom never replaces a network: change the spec or remove the network by hand"
                conflicts.append(detail)
                network = NetworkChange(name: desired.network.name, action: .conflict, arguments: desired.network.arguments, detail: detail)
            }
        } else {
            network = NetworkChange(name: desired.network.name, action: .create, arguments: desired.network.arguments)
        }

        let filesByPath = Dictionary(desired.files.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        var files: [FileChange] = []
        var changedFiles = Set<String>()
        let managedFiles = desired.files.map { ($0, FileChange.Kind.file) } + (actual.systemd ? units(desired, actual: actual).map { ($0, .unit) } : [])
        for (file, kind) in managedFiles {
            let observed = actual.files[file.path] ?? ObservedFile(content: nil, mode: nil)
            let change: FileChange
            if let content = observed.content {
                if content == file.content && observed.mode == file.mode {
                    change = FileChange(path: file.path, kind: kind, action: .inSync, mode: file.mode, diff: "", reload: file.reload)
                } else {
                    let old = file.redactions.filter { !$0.isEmpty }.reduce(content) { $0.replacingAll($1, with: "(secret)") }
                    var diff = UnifiedDiff.make(old: old, new: file.displayContent)
                    if diff.isEmpty { diff = content == file.content ? "mode \(String(observed.mode ?? 0, radix: 8)) → \(String(file.mode, radix: 8))" : "(secret values changed)" }
                    change = FileChange(path: file.path, kind: kind, action: .update, mode: file.mode, diff: diff, reload: file.reload)
                }
            } else {
                change = FileChange(path: file.path, kind: kind, action: .create, mode: file.mode,
                                    diff: UnifiedDiff.make(old: "", new: file.displayContent), reload: file.reload)
            }
            if change.action != .inSync { changedFiles.insert(file.path) }
            files.append(change)
        }
        let wanted = Set(managedFiles.map(\.0.path))
        for path in actual.applied.files where !wanted.contains(path) && actual.files[path]?.exists == true {
            files.append(FileChange(path: path, kind: path.hasSuffix(".service") ? .unit : .file, action: .delete, mode: nil,
                                    diff: UnifiedDiff.make(old: actual.files[path]?.content ?? "", new: ""), reload: nil))
        }

        var containers: [ContainerChange] = []
        let ordered = desired.containers.enumerated().sorted { ($0.element.level, $0.offset) < ($1.element.level, $1.offset) }.map(\.element)
        for c in ordered {
            let hash = configHash(c, actual: actual)
            var change = ContainerChange(name: c.name, action: .inSync, level: c.level, reasons: [], fields: [],
                                         arguments: c.arguments, configHash: hash)
            guard let observed = actual.containers[c.name] else {
                change.action = .create
                change.reasons = ["not on the host"]
                containers.append(change)
                continue
            }
            let desiredFields = ContainerFields(arguments: c.arguments)
            if observed.managed, observed.configHash == hash {
                if !observed.isRunning {
                    change.action = .start
                    change.reasons = ["\(observed.summary.state)"]
                }
            } else if observed.managed, let record = actual.applied.containers[c.name], observed.configHash == record.configHash {
                change.action = .recreate
                change.fields = desiredFields.differences(from: ContainerFields(arguments: record.arguments))
                change.reasons = reasons(c, fields: change.fields, changedFiles: changedFiles, actual: actual, record: record)
            } else if let inspection = observed.inspection {
                let envContents = Dictionary(c.consumedFiles.compactMap { path in filesByPath[path].map { (path, $0.content) } },
                                             uniquingKeysWith: { first, _ in first })
                let (want, have) = ContainerFields.comparable(desired: desiredFields, envFiles: envContents, inspection: inspection)
                change.fields = want.differences(from: have)
                if observed.managed {
                    change.action = .recreate
                    change.reasons = ["changed outside Mailroom"]
                } else if change.fields.isEmpty && observed.isRunning {
                    change.action = .adopt
                    change.reasons = ["made outside Mailroom; matches the spec, so it is adopted without a restart"]
                } else {
                    change.action = .recreate
                    change.reasons = ["made outside Mailroom" + (change.fields.isEmpty ? " and not running" : "; differs from the spec")]
                }
            } else {
                change.action = .recreate
                change.reasons = [observed.managed ? "config hash changed" : "made outside Mailroom"]
            }
            containers.append(change)
        }
        // Only what this host's record says Mailroom applied is pruned: another deployment's
        // containers (another prefix, another state directory) carry the same label.
        let desiredNames = Set(desired.containers.map(\.name))
        var allWarnings = warnings
        for observed in actual.containers.values.sorted(by: { $0.name < $1.name }) where observed.managed && !desiredNames.contains(observed.name) {
            guard actual.applied.containers[observed.name] != nil else {
                if observed.summary.networks.contains(desired.network.name) {
                    allWarnings.append("\(observed.name) is labelled \(PodmanArguments.managedLabel) and on network \(desired.network.name) but not in this host's record, so it is left alone; remove it by hand if it is no longer wanted")
                }
                continue
            }
            containers.append(ContainerChange(name: observed.name, action: .remove, level: nil,
                                              reasons: ["managed by Mailroom and no longer in the spec (its volumes and data stay)"],
                                              fields: [], arguments: nil, configHash: nil))
        }

        if actual.engine == nil {
            allWarnings.append("podman is not installed: planned against an empty host")
        }
        return Plan(network: network, containers: containers, files: files, directories: actual.missingDirectories,
                    runner: actual.systemd ? .systemd : .direct, warnings: allWarnings, conflicts: conflicts)
    }

    /// The units Mailroom installs when systemd owns the containers: the rendered units with
    /// the config hash label added, so a container its unit starts is recognised as applied.
    /// No commit label: a new commit that changes nothing must not rewrite every unit.
    public static func units(_ desired: DesiredState, actual: ActualState) -> [FileDefinition] {
        let byFileName = Dictionary(desired.containers.map { (SystemdUnit.fileName(for: $0.name), $0) }, uniquingKeysWith: { first, _ in first })
        return desired.units.map { unit in
            guard let c = byFileName[unit.path.lastComponent] else { return unit }
            var installed = unit
            let labels = [KeyValue(PodmanArguments.managedLabel, "true"), KeyValue(PodmanArguments.hashLabel, configHash(c, actual: actual))]
            installed.content = SystemdUnit.render(c.definition, arguments: PodmanArguments.run(c.definition, extraLabels: labels))
            return installed
        }
    }

    /// Words for why a managed container is recreated, beyond its changed flags.
    static func reasons(_ c: DesiredContainer, fields: [FieldChange], changedFiles: Set<String>, actual: ActualState,
                        record: AppliedState.AppliedContainer) -> [String] {
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
