#if canImport(Glibc)
    import Glibc
#endif

/// Names the calling thread in `/proc/PID/task/TID/comm`, where `top -H`, strace and the idle
/// benchmark show it. Foundation's `Thread.name` does not reach the kernel on Linux (set before
/// `start()` it is never applied; set in the thread it races with `start()` returning), and
/// `pthread_setname_np` needs `_GNU_SOURCE`, which the Glibc module lacks: the thread writes
/// its own `comm`, as glibc does for another thread. The kernel keeps 15 bytes.
package func nameCurrentThread(_ name: String) {
    #if canImport(Glibc)
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(name.utf8.prefix(15))
        _ = write(fd, bytes, bytes.count)
    #endif
}
