import Foundation
import MailroomPlan
import MailroomSpec
import MailroomSupport

/// Keeps `applied.json`, the host's record of what Mailroom applied (containers, files, the
/// application version, the commit). Rewritten atomically after every change, so that a crash
/// leaves an accurate record: the next plan prunes and compares against it.
actor AppliedStateRecorder {
    let stateDirectory: String
    let persist: Bool
    private(set) var state: AppliedState

    init(state: AppliedState, stateDirectory: String, persist: Bool) {
        self.state = state
        self.stateDirectory = stateDirectory
        self.persist = persist
    }

    func container(_ name: String, _ record: AppliedState.AppliedContainer?) throws {
        state.containers[name] = record
        try save()
    }

    func containerID(_ name: String, _ id: String) throws {
        guard state.containers[name] != nil, state.containers[name]?.containerID != id else { return }
        state.containers[name]?.containerID = id
        try save()
    }

    func files(_ paths: [String]) throws {
        let sorted = Array(Set(paths)).sorted()
        guard sorted != state.files else { return }
        state.files = sorted
        try save()
    }

    func objects(_ record: [String: AppliedState.AppliedObject]) throws {
        guard record != state.objects else { return }
        state.objects = record
        try save()
    }

    /// Mailu's migrations run when a newer version starts: the record keeps the highest version started.
    func raiseVersion(_ version: String?) throws {
        guard let version, state.applicationVersion != version else { return }
        if let current = state.applicationVersion, ApplicationVersion.compare(version, current) != .newer { return }
        state.applicationVersion = version
        try save()
    }

    func finish(commit: String, rollout: String) throws {
        state.commit = commit
        state.rolloutID = rollout
        try save()
    }

    private func save() throws {
        guard persist else { return }
        try FaultInjection.point("state.write")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(state), to: AppliedState.path(in: stateDirectory), mode: 0o600)
    }
}
