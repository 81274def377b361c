import MailroomHost
import MailroomRender

/// Which images a plan needs that are not in local storage. Only containers the plan creates or
/// recreates need their image, so a plan with nothing to start asks podman nothing.
public enum ImageCheck {
    /// The images of the containers `plan` creates or recreates, each once, in start order.
    public static func needed(by plan: Plan, desired: DesiredState) -> [String] {
        let images = Dictionary(desired.containers.map { ($0.name, $0.image) }, uniquingKeysWith: { first, _ in first })
        var seen = Set<String>()
        return plan.containers.compactMap { change in
            guard change.action == .create || change.action == .recreate, let image = images[change.name],
                seen.insert(image).inserted
            else { return nil }
            return image
        }
    }

    /// `plan` with ``Plan/missingImages`` filled in. Without an engine (no podman) it is unchanged.
    public static func check(_ plan: Plan, desired: DesiredState, engine: (any ContainerEngine)?) async throws -> Plan {
        guard let engine else { return plan }
        let needed = needed(by: plan, desired: desired)
        let present = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
            for image in needed { group.addTask { (image, try await engine.imageExists(image)) } }
            var present: [String: Bool] = [:]
            for try await (image, exists) in group { present[image] = exists }
            return present
        }
        var checked = plan
        checked.missingImages = needed.filter { present[$0] == false }
        return checked
    }
}
