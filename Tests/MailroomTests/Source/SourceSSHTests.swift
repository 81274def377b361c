import Foundation
import Testing

@testable import MailroomAgent
@testable import MailroomSource
@testable import MailroomSupport
@testable import MailroomTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A real OpenSSH server on 127.0.0.1 with generated host and client keys, run as root.
final class SSHServer {
    let directory: String
    let port: Int
    /// A client key that is in authorized_keys.
    let clientKey: String
    /// A known_hosts file listing this server's host key.
    let knownHosts: String
    private let pid = LockedValue<pid_t>(0)

    init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // sshd refuses to start without its privilege-separation directory.
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        let hostKey = directory + "/ssh_host_ed25519_key"
        clientKey = directory + "/id_ed25519"
        try Self.keygen(hostKey)
        try Self.keygen(clientKey)
        try FileManager.default.copyItem(atPath: clientKey + ".pub", toPath: directory + "/authorized_keys")
        port = try Self.freePort()
        let config = """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(hostKey)
            AuthorizedKeysFile \(directory)/authorized_keys
            PidFile \(directory)/sshd.pid
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            PermitRootLogin prohibit-password
            LogLevel VERBOSE

            """
        try Data(config.utf8).write(to: URL(fileURLWithPath: directory + "/sshd_config"))
        let hostPublic = try String(contentsOfFile: hostKey + ".pub", encoding: .utf8).split(separator: " ").prefix(2)
            .joined(separator: " ")
        knownHosts = directory + "/known_hosts"
        try Data("[127.0.0.1]:\(port) \(hostPublic)\n".utf8).write(to: URL(fileURLWithPath: knownHosts))

        // Not Foundation's Process: it watches a socket that sshd closes at start-up, then
        // blocks in waitpid on sshd, which stalls every other Process in the test run.
        pid.withLock {
            $0 = Self.spawn(
                ["/usr/sbin/sshd", "-D", "-e", "-f", directory + "/sshd_config"], log: directory + "/sshd.log")
        }
        guard pid.current > 0 else { throw ScratchError("cannot start sshd") }
        try waitUntilListening()
    }

    /// Stops sshd and reaps it; safe to call twice.
    func stop() {
        let running = pid.withLock { pid in
            defer { pid = 0 }
            return pid
        }
        guard running > 0 else { return }
        kill(running, SIGTERM)
        var status: Int32 = 0
        while waitpid(running, &status, 0) < 0, errno == EINTR {}
    }

    private var isRunning: Bool {
        let current = pid.current
        guard current > 0 else { return false }
        var status: Int32 = 0
        return waitpid(current, &status, WNOHANG) == 0
    }

    /// Starts `arguments` with stdout and stderr appended to `log`; returns its pid, or 0.
    private static func spawn(_ arguments: [String], log: String) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
        return rc == 0 ? pid : 0
    }

    deinit { stop() }

    var log: String { (try? String(contentsOfFile: directory + "/sshd.log", encoding: .utf8)) ?? "" }

    /// A new key pair in `directory`, not authorised anywhere.
    func makeKey(_ name: String) throws -> String {
        let path = directory + "/" + name
        try Self.keygen(path)
        return path
    }

    private static func keygen(_ path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-keygen")
        process.arguments = ["-q", "-t", "ed25519", "-N", "", "-C", "mailroom-test", "-f", path]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ScratchError("ssh-keygen failed for \(path)") }
    }

    /// Asks the kernel for a free port on 127.0.0.1.
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ScratchError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw ScratchError("bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Waits for sshd to accept connections; gives up after three minutes (an sshd that never
    /// listens; a loaded machine starts one in seconds).
    private func waitUntilListening() throws {
        let deadline = Date().addingTimeInterval(180)
        while Date() < deadline {
            guard isRunning else { throw ScratchError("sshd exited: \(log)") }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            close(fd)
            if connected { return }
            usleep(20_000)
        }
        stop()
        throw ScratchError("sshd did not listen on 127.0.0.1:\(port) within 3 minutes: \(log)")
    }
}

@Suite("Source: SSH transport against a real sshd", .serialized, .tags(.sshd, .git))
struct SourceSSHTests {
    /// Runs `body` with a fresh origin and sshd; sshd is stopped whatever happens.
    func withServer(_ body: (SourceFixture, SSHServer) throws -> Void) throws {
        let f = try SourceFixture()
        defer { f.remove() }
        let server = try SSHServer(directory: f.repo.root + "/ssh")
        defer { server.stop() }
        try body(f, server)
    }

    func source(_ f: SourceFixture, _ server: SSHServer, key: String? = nil, knownHosts: String? = nil) throws
        -> GitSource
    {
        GitSource(
            try SourceConfiguration(
                repository: "ssh://root@127.0.0.1:\(server.port)\(f.repo.origin)",
                credentials: GitCredentials(
                    sshKey: key ?? server.clientKey, knownHosts: knownHosts ?? server.knownHosts),
                stateDirectory: f.stateDirectory))
    }

    @Test("clone and fetch over ssh:// with a key and a known host key")
    func cloneOverSSH() throws {
        try withServer { f, server in
            let source = try source(f, server)
            let first = try source.fetch(logger: f.logs.logger)
            #expect(first.commit.hex == (try f.repo.head()))
            #expect(first.snapshot.specText == TestSpecs.minimal)
            let pushed = try f.repo.commitAndPush(["mailroom.yaml": TestSpecs.minimal + "# ssh\n"], message: "ssh")
            let second = try source.fetch(logger: f.logs.logger)
            #expect(second.commit.hex == pushed)
            #expect(second.specChanged)
        }
    }

    @Test("a host key that differs from known_hosts is refused")
    func mismatchedHostKeyRefused() throws {
        try withServer { f, server in
            let other = try server.makeKey("other_host_key")
            let otherPublic = try String(contentsOfFile: other + ".pub", encoding: .utf8).split(separator: " ").prefix(
                2
            ).joined(separator: " ")
            let wrong = server.directory + "/known_hosts_wrong"
            try Data("[127.0.0.1]:\(server.port) \(otherPublic)\n".utf8).write(to: URL(fileURLWithPath: wrong))
            let error = gitError { try source(f, server, knownHosts: wrong).fetch(logger: f.logs.logger) }
            #expect(error?.code == .hostKeyMismatch)
            #expect(error?.message.contains("[127.0.0.1]:\(server.port)") == true)
            #expect(error?.message.contains("SHA256:") == true)
            #expect(!FileManager.default.fileExists(atPath: f.stateDirectory + "/mirror.git"))
            #expect(!FileManager.default.fileExists(atPath: f.stateDirectory + "/source-state.json"))
        }
    }

    @Test("a host missing from known_hosts is refused")
    func unknownHostKeyRefused() throws {
        try withServer { f, server in
            // The right key, but listed for port 22: a different host entry.
            let key = try String(contentsOfFile: server.knownHosts, encoding: .utf8).split(separator: " ").dropFirst()
                .joined(separator: " ")
            let elsewhere = server.directory + "/known_hosts_elsewhere"
            try Data("127.0.0.1 \(key)".utf8).write(to: URL(fileURLWithPath: elsewhere))
            let error = gitError { try source(f, server, knownHosts: elsewhere).fetch(logger: f.logs.logger) }
            #expect(error?.code == .hostKeyUnknown)
            #expect(error?.message.contains(elsewhere) == true)
        }
    }

    @Test("a key the server does not accept is an authentication error, and the good state is kept")
    func badKeyRefused() throws {
        try withServer { f, server in
            _ = try source(f, server).fetch(logger: f.logs.logger)
            let saved = fileData(f.stateDirectory + "/source-state.json")
            let stranger = try server.makeKey("stranger")
            try f.repo.commitAndPush(["x.txt": "x\n"], message: "x")
            let error = gitError { try source(f, server, key: stranger).fetch(logger: f.logs.logger) }
            #expect(error?.code == .authentication)
            #expect(error?.message.contains(stranger) == true)
            #expect(fileData(f.stateDirectory + "/source-state.json") == saved)
        }
    }

    @Test("an unreachable SSH server is named")
    func unreachableServer() throws {
        let f = try SourceFixture()
        defer { f.remove() }
        let server = try SSHServer(directory: f.repo.root + "/ssh")
        let port = server.port
        server.stop()  // nothing listens on the port any more
        let source = GitSource(
            try SourceConfiguration(
                repository: "ssh://root@127.0.0.1:\(port)\(f.repo.origin)",
                credentials: GitCredentials(sshKey: server.clientKey, knownHosts: server.knownHosts),
                stateDirectory: f.stateDirectory))
        let error = gitError { try source.fetch(logger: f.logs.logger) }
        #expect(error?.code == .unreachable)
        #expect(error?.message.contains("127.0.0.1:\(port)") == true)
    }
}
