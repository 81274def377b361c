import MailroomRender
import MailroomSpec

/// The difference between the desired and the actual state: what apply would do, in order.
public struct Plan: Sendable, Equatable, Codable {
    public var network: NetworkChange
    /// Desired containers in start order (by wave, then spec order), then removals.
    public var containers: [ContainerChange]
    public var files: [FileChange]
    public var directories: [String]
    /// How containers are run on this host.
    public var runner: Runner
    /// Things the user should know that do not block the plan (no podman, missing secrets).
    public var warnings: [String]
    /// Things that block apply (a network with other subnets).
    public var conflicts: [String]
    /// Containers the plan would have created, recreated or started but leaves as they are
    /// (see ``leavingAlone(_:)``); nil when none.
    public var leftAlone: [String]?
    /// The application's objects (Mailu's domains, users, aliases, relays); nil when the spec has none.
    public var objects: ObjectPlan?
    /// Private keys to create (each once; an existing key is never replaced).
    public var keys: [KeyFile] = []
    /// Images the containers to create or recreate run that podman does not have yet: apply
    /// pulls them before it changes anything (see ``ImageCheck``).
    public var missingImages: [String] = []

    public enum Runner: String, Sendable, Codable {
        /// systemd is PID 1: units are installed and own the containers.
        case systemd
        /// No systemd: containers are run directly with `podman container run`.
        case direct
    }

    public var hasChanges: Bool {
        network.action != .inSync || containers.contains { $0.action != .inSync }
            || files.contains { $0.action != .inSync }
            || !directories.isEmpty || !keys.isEmpty || objects?.hasChanges == true
    }

    /// The plan with `names` left as they are (the agent's self-heal: waiting out a backoff, or
    /// degraded): their create, recreate or start becomes in-sync, with a warning. Removals are kept.
    public func leavingAlone(_ names: Set<String>) -> Plan {
        var plan = self
        for i in plan.containers.indices
        where names.contains(plan.containers[i].name) && plan.containers[i].action != .remove
            && plan.containers[i].action != .inSync
        {
            plan.warnings.append(
                "\(plan.containers[i].name) is left alone by self-heal (backoff, or budget spent) instead of \(plan.containers[i].action.rawValue)"
            )
            plan.leftAlone = (plan.leftAlone ?? []) + [plan.containers[i].name]
            plan.containers[i].action = .inSync
        }
        // Objects imported through a container left alone wait for it too.
        if let objects = plan.objects, names.contains(objects.container), objects.hasChanges {
            plan.warnings.append("the objects in \(objects.container) wait until self-heal lets it start")
            plan.objects?.changes = []
            plan.objects?.pending = nil
        }
        return plan
    }

    public var summary: Summary {
        func count(_ action: ContainerChange.Action) -> Int { containers.filter { $0.action == action }.count }
        return Summary(
            network: network.action == .create ? 1 : 0, create: count(.create), recreate: count(.recreate),
            start: count(.start),
            adopt: count(.adopt), remove: count(.remove), inSync: count(.inSync),
            filesToWrite: files.filter { $0.action == .create || $0.action == .update }.count,
            filesToDelete: files.filter { $0.action == .delete }.count, directories: directories.count)
    }

    public struct Summary: Sendable, Equatable, Codable {
        public var network, create, recreate, start, adopt, remove, inSync, filesToWrite, filesToDelete,
            directories: Int
    }
}

public struct NetworkChange: Sendable, Equatable, Codable {
    public enum Action: String, Sendable, Codable { case create, inSync = "in-sync", conflict }
    public var name: String
    public var action: Action
    public var arguments: [String]
    public var detail: String?
}

public struct ContainerChange: Sendable, Equatable, Codable {
    public enum Action: String, Sendable, Codable {
        case create, recreate, start, remove, inSync = "in-sync"
        /// A container made by hand that already matches the spec: recorded as managed, not restarted.
        case adopt
    }

    public var name: String
    public var action: Action
    /// Start wave (dependency level); removals have none.
    public var level: Int?
    /// Why, in words: "mailu.env changed", "not created by Mailroom", "exited".
    public var reasons: [String]
    public var fields: [FieldChange]
    /// The full desired arguments (absent for removals).
    public var arguments: [String]?
    /// The hash apply labels the container with.
    public var configHash: String?
}

public struct FileChange: Sendable, Equatable, Codable {
    public enum Action: String, Sendable, Codable { case create, update, delete, inSync = "in-sync" }
    public enum Kind: String, Sendable, Codable { case file, unit }
    public var path: String
    public var kind: Kind
    public var action: Action
    public var mode: Int?
    /// Unified diff of the printable content (secrets redacted).
    public var diff: String
    /// Container that reloads to pick the change up, if no container hashes the file.
    public var reload: FileDefinition.Reload?
}
