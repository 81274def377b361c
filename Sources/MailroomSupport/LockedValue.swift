import Foundation

/// A value behind a lock, for state shared between threads.
package final class LockedValue<Value: Sendable>: @unchecked Sendable {
    // Every access to `value` goes through `withLock`.
    private let lock = NSLock()
    private var value: Value

    package init(_ value: Value) { self.value = value }

    package func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    package var current: Value { withLock { $0 } }
}
