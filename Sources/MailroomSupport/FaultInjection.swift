#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Crashes or fails the process at the N-th pass through a named step, for crash-safety tests
/// (as etcd's robustness tests do). `MAILROOM_FAULT=file.rename:3` ends the process (exit
/// status 86, no cleanup, like a kill) just before the third rename; `file.rename:3:fail`
/// throws ``InjectedFault`` there instead. `MAILROOM_FAULT_TRACE=<file>` appends the name of
/// every point passed, one a line, so a test learns how often each is reached. Debug builds
/// only: in a release build `point(_:)` is empty and the variables are never read.
///
/// The points: `file.rename` and `file.renamed` (before and after each rename of an atomic
/// write), `journal.append`, `network.create`, `container.create`, `container.remove` (after
/// podman did it, before it is recorded), `unit.write`, `systemd.daemon-reload`,
/// `container.reload` (Caddy's), `state.write` (applied.json).
package enum FaultInjection {
    /// The exit status of an injected crash.
    package static let exitStatus: Int32 = 86

    package static func point(_ name: StaticString) throws {
        #if DEBUG
            if let trace = traceDescriptor {
                let line = "\(name)\n"
                _ = line.withCString { write(trace, $0, strlen($0)) }
            }
            guard let fault = configured, fault.name == name.description else { return }
            if counter.withLock({ count -> Bool in
                count += 1
                return count == fault.occurrence
            }) {
                if fault.fail { throw InjectedFault(point: fault.name, occurrence: fault.occurrence) }
                _exit(exitStatus)
            }
        #endif
    }

    #if DEBUG
        private static let configured: (name: String, occurrence: Int, fail: Bool)? = {
            guard let value = getenv("MAILROOM_FAULT").map({ String(cString: $0) }) else { return nil }
            var parts = value.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            let fail = parts.last == "fail"
            if fail || parts.last == "crash" { parts.removeLast() }
            guard parts.count >= 2, let occurrence = Int(parts.removeLast()) else { return nil }
            return (parts.joined(separator: ":"), occurrence, fail)
        }()

        private static let traceDescriptor: Int32? = {
            guard let path = getenv("MAILROOM_FAULT_TRACE") else { return nil }
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            return fd >= 0 ? fd : nil
        }()

        private static let counter = LockedValue(0)
    #endif
}

/// The failure `MAILROOM_FAULT=<point>:<n>:fail` injects.
package struct InjectedFault: Error, CustomStringConvertible {
    package var point: String
    package var occurrence: Int

    package var description: String { "injected fault at \(point) (pass \(occurrence), MAILROOM_FAULT)" }
}
