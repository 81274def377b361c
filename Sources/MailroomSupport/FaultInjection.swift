#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Crashes the process at the N-th pass through a named point, for crash-safety tests:
/// `MAILROOM_FAULT=file.rename:3` ends the process (exit status 86, no cleanup, like a kill)
/// just before the third rename of a batch write. Debug builds only: in a release build
/// `point(_:)` is empty and the variable is never read.
package enum FaultInjection {
    /// The exit status of an injected crash.
    package static let exitStatus: Int32 = 86

    package static func point(_ name: StaticString) {
        #if DEBUG
            guard let fault = configured, fault.name == name.description else { return }
            if counter.withLock({ count -> Bool in
                count += 1
                return count == fault.occurrence
            }) {
                _exit(exitStatus)
            }
        #endif
    }

    #if DEBUG
        private static let configured: (name: String, occurrence: Int)? = {
            guard let value = getenv("MAILROOM_FAULT").map({ String(cString: $0) }),
                let colon = value.lastIndex(of: ":"), let occurrence = Int(value[value.index(after: colon)...])
            else { return nil }
            return (String(value[..<colon]), occurrence)
        }()

        private static let counter = LockedValue(0)
    #endif
}
