import Foundation
import Logging
import MailroomRender
import MailroomSupport

extension DesiredState {
    /// The directories Mailroom writes files into for this state: generated files, units and
    /// keys. Data directories (mounted into containers) are not among them.
    public var writtenDirectories: [String] {
        (files.map(\.path) + units.map(\.path) + keys.map(\.path)).map { ($0 as NSString).deletingLastPathComponent }
    }
}

extension Applier {
    /// Removes the temporaries a killed run left where this rollout writes (the state
    /// directory, the spec archive, the generated files' directories): a kill between a
    /// temporary's write and its rename leaves a full copy behind, `mailu.env`'s secrets
    /// included. Called under the apply lock, before anything is written.
    func removeStaleTemporaries(_ desired: DesiredState, logger: Logger) {
        let state = StateDirectory(host.stateDirectory)
        let directories = [state.root, state.specArchive] + desired.writtenDirectories
        for path in AtomicFile.removeStaleTemporaries(in: directories) {
            logger.info("Removed a temporary file left by an interrupted run", metadata: ["file.path": "\(path)"])
        }
    }
}
