import CSpawn
import Foundation

/// The outcome of one subprocess.
public struct ProcessResult: Sendable, Equatable {
    public var arguments: [String]
    public var status: Int32
    public var stdout: Data
    public var stderr: Data

    public var succeeded: Bool { status == 0 }
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String {
        String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A subprocess that could not be started, or that failed where success was required.
public struct CommandError: Error, Sendable, CustomStringConvertible {
    public var arguments: [String]
    public var status: Int32?
    public var stderr: String

    public var description: String {
        let command = arguments.joined(separator: " ")
        guard let status else { return "could not run \(command): \(stderr)" }
        return "\(command) failed with status \(status)\(stderr.isEmpty ? "" : ": \(stderr)")"
    }
}

/// Runs programs from an argument vector (never through a shell). The only place Mailroom
/// starts processes; host drivers build on it.
public struct ProcessRunner: Sendable {
    /// Sees every command before it runs (tests and benchmarks count podman calls with it).
    public var observer: (@Sendable ([String]) -> Void)?

    public init(observer: (@Sendable ([String]) -> Void)? = nil) {
        self.observer = observer
    }

    /// Finds an executable on `PATH`.
    public static func which(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `arguments[0]` with the rest; waits on a thread outside the cooperative pool.
    public func run(_ arguments: [String], input: Data? = nil) async throws -> ProcessResult {
        observer?(arguments)
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try Self.runBlocking(arguments, input: input) })
            }
        }
    }

    /// `posix_spawn` with close-on-exec pipes and `waitpid` on the child's own pid.
    /// (Foundation's `Process` is not used: with several launches at once on Linux its
    /// SIGCHLD monitor can miss an exit and `waitUntilExit` never returns, and its pipes
    /// can leak into a concurrently spawned child, which then holds them open.)
    private static let spawnLock = NSLock()

    static func runBlocking(_ arguments: [String], input: Data?) throws -> ProcessResult {
        func failure(_ what: String) -> CommandError {
            CommandError(arguments: arguments, status: nil, stderr: "\(what): \(String(cString: strerror(errno)))")
        }
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        var inPipe: [Int32] = [-1, -1]
        defer { for fd in outPipe + errPipe + inPipe where fd >= 0 { close(fd) } }
        // pipe2 is not imported: pipe + FD_CLOEXEC under the lock every spawn here takes,
        // so no child of this runner can inherit a pipe in between.
        func cloexecPipe(_ fds: inout [Int32]) -> Bool {
            guard pipe(&fds) == 0 else { return false }
            return fds.allSatisfy { fcntl($0, F_SETFD, FD_CLOEXEC) == 0 }
        }
        let made = spawnLock.withLock {
            cloexecPipe(&outPipe) && cloexecPipe(&errPipe) && (input == nil ? true : cloexecPipe(&inPipe))
        }
        guard made else { throw failure("pipe") }
        if input == nil { inPipe[0] = open("/dev/null", O_RDONLY | O_CLOEXEC) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on the child's 0, 1 and 2 only.
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        closeInheritedDescriptors(&actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        var allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        // Its own process group: a Ctrl-C in the terminal must not cut a `podman container run` in half.
        mailroom_spawnattr_own_group(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = spawnLock.withLock { posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ) }
        guard spawned == 0 else {
            throw CommandError(
                arguments: arguments, status: nil,
                stderr: "cannot start \(arguments[0]): \(String(cString: strerror(spawned)))")
        }
        // The parent keeps only its ends: EOF arrives when the child (and its children) close theirs.
        close(outPipe[1])
        outPipe[1] = -1
        close(errPipe[1])
        errPipe[1] = -1
        close(inPipe[0])
        inPipe[0] = -1

        var stdout = Data()
        var stderr = Data()
        var pending = input ?? Data()
        if input != nil, pending.isEmpty {
            close(inPipe[1])
            inPipe[1] = -1
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while outPipe[0] >= 0 || errPipe[0] >= 0 || inPipe[1] >= 0 {
            var fds: [pollfd] = []
            if outPipe[0] >= 0 { fds.append(pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0)) }
            if errPipe[0] >= 0 { fds.append(pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0)) }
            if inPipe[1] >= 0 { fds.append(pollfd(fd: inPipe[1], events: Int16(POLLOUT), revents: 0)) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for entry in fds where entry.revents != 0 {
                if entry.fd == inPipe[1] {
                    let written = pending.withUnsafeBytes { write(entry.fd, $0.baseAddress, $0.count) }
                    if written > 0 { pending.removeFirst(written) }
                    if written < 0 && errno != EINTR && errno != EAGAIN || pending.isEmpty {
                        close(inPipe[1])
                        inPipe[1] = -1
                    }
                    continue
                }
                let n = read(entry.fd, &buffer, buffer.count)
                if n > 0 {
                    if entry.fd == outPipe[0] {
                        stdout.append(contentsOf: buffer[0..<n])
                    } else {
                        stderr.append(contentsOf: buffer[0..<n])
                    }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    if entry.fd == outPipe[0] {
                        close(outPipe[0])
                        outPipe[0] = -1
                    } else {
                        close(errPipe[0])
                        errPipe[0] = -1
                    }
                }
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw failure("waitpid") }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import.
        let signal = status & 0x7f
        let code = signal == 0 ? (status >> 8) & 0xff : 128 + signal
        return ProcessResult(arguments: arguments, status: code, stdout: stdout, stderr: stderr)
    }
}

extension ProcessRunner {
    /// Starts a long-running program (stdio on /dev/null) and returns at once; `stop()` ends it.
    /// For helpers such as `podman system service` in benchmarks. `environment` is added to
    /// this process's environment for the child. The program dies with this process (see
    /// ``TiedSpawner``).
    public func start(_ arguments: [String], environment: [String: String] = [:]) throws -> BackgroundProcess {
        observer?(arguments)
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { if null >= 0 { close(null) } }
        let pid = try TiedSpawner.spawn(arguments, environment: environment, stdin: null, stdout: null, stderr: null)
        return BackgroundProcess(pid: pid)
    }

    /// Starts a long-running program whose stdout the caller reads (stdin and stderr on
    /// /dev/null), for streams such as `podman events`. The caller owns and closes the
    /// descriptor. The program dies with this process.
    public func startReading(_ arguments: [String]) throws -> (process: BackgroundProcess, stdout: Int32) {
        observer?(arguments)
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw CommandError(
                arguments: arguments, status: nil, stderr: "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer {
            if null >= 0 { close(null) }
            close(fds[1])
        }
        do {
            let pid = try TiedSpawner.spawn(arguments, environment: [:], stdin: null, stdout: fds[1], stderr: null)
            return (BackgroundProcess(pid: pid), fds[0])
        } catch {
            close(fds[0])
            throw error
        }
    }
}

/// Starts children that must not outlive Mailroom (`podman events`, helpers): a SIGKILLed
/// agent would otherwise leave them running. The kernel's parent-death signal fires when the
/// *thread* that forked ends, and the cooperative pool's threads come and go, so every such
/// fork happens on this one thread, which never ends.
enum TiedSpawner {
    private struct Request: @unchecked Sendable {
        // Raw C strings, valid until the caller (blocked on `done`) frees them.
        var path: UnsafePointer<CChar>
        var argv: UnsafePointer<UnsafeMutablePointer<CChar>?>
        var envp: UnsafePointer<UnsafeMutablePointer<CChar>?>
        var fds: (Int32, Int32, Int32)
        var result: Reply
    }

    final class Reply: @unchecked Sendable {
        var pid: pid_t = -1
        var error: Int32 = 0
        let done = DispatchSemaphore(value: 0)
    }

    private static let queue = Queue()

    private final class Queue: @unchecked Sendable {
        private let lock = NSLock()
        private var pending: [Request] = []
        private let wake = DispatchSemaphore(value: 0)

        init() {
            let thread = Thread { [self] in
                while true {
                    wake.wait()
                    let request = lock.withLock { pending.removeFirst() }
                    let pid = mailroom_spawn_tied(
                        request.path, request.argv, request.envp, request.fds.0, request.fds.1, request.fds.2)
                    request.result.pid = pid
                    request.result.error = pid < 0 ? errno : 0
                    request.result.done.signal()
                }
            }
            thread.name = "mailroom-spawn"
            thread.start()
        }

        func submit(_ request: Request) {
            lock.withLock { pending.append(request) }
            wake.signal()
        }
    }

    static func spawn(
        _ arguments: [String], environment: [String: String], stdin: Int32, stdout: Int32, stderr: Int32
    ) throws -> pid_t {
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        // This process's environment as it is now (tests set variables while they run), plus `environment`.
        var envp: [UnsafeMutablePointer<CChar>?] = []
        var index = 0
        while let variable = environ[index] {
            let name = String(cString: variable).prefix { $0 != "=" }
            if environment[String(name)] == nil { envp.append(strdup(variable)) }
            index += 1
        }
        envp += environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in envp { free(pointer) } }
        let box = Reply()
        argv.withUnsafeBufferPointer { argvBuffer in
            envp.withUnsafeBufferPointer { envpBuffer in
                queue.submit(
                    Request(
                        path: UnsafePointer(argv[0]!), argv: argvBuffer.baseAddress!, envp: envpBuffer.baseAddress!,
                        fds: (stdin, stdout, stderr), result: box))
                box.done.wait()
            }
        }
        guard box.pid > 0 else {
            throw CommandError(
                arguments: arguments, status: nil,
                stderr: "cannot start \(arguments[0]): \(String(cString: strerror(box.error)))")
        }
        return box.pid
    }
}

/// A program `ProcessRunner.start` left running.
public struct BackgroundProcess: Sendable {
    public let pid: pid_t

    /// SIGTERM, then waits for it to end.
    public func stop() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }
}

/// The child keeps only 0, 1 and 2. Descriptors that libraries open without close-on-exec
/// (the agent's listening socket, inotify, libgit2's) would otherwise pass to podman and on to
/// conmon, which outlives us: a restarted agent could not bind its port again.
func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
    // Fails only for an invalid descriptor number (3 is valid) or out of memory.
    let added = mailroom_spawn_file_actions_addclosefrom(&actions, 3)
    precondition(added == 0, "posix_spawn_file_actions_addclosefrom_np: \(added)")
}
