import Foundation

/// Facts about this machine that `mailroom doctor` reads from files: memory, SELinux, the
/// listening sockets and who holds them. Read under `root` (default `/`), so tests point it at
/// a directory of fixture files for what cannot be changed here (`proc/meminfo`,
/// `sys/fs/selinux/enforce`).
package struct HostFacts: Sendable, Equatable {
    package enum SELinux: String, Sendable, Equatable {
        case enforcing, permissive
        /// No SELinux on this machine, or disabled.
        case absent
    }

    /// A listening TCP socket (or a bound UDP one) from `/proc/net/{tcp,tcp6,udp,udp6}`.
    package struct Listener: Sendable, Equatable {
        package var proto: String
        package var address: String
        package var port: Int
        package var inode: UInt64

        package init(proto: String, address: String, port: Int, inode: UInt64) {
            self.proto = proto
            self.address = address
            self.port = port
            self.inode = inode
        }
    }

    /// The process holding a socket: its command name and, for podman's `conmon`, the container
    /// whose published port it keeps open.
    package struct Holder: Sendable, Equatable {
        package var pid: Int
        package var command: String
        package var container: String?

        package init(pid: Int, command: String, container: String? = nil) {
            self.pid = pid
            self.command = command
            self.container = container
        }
    }

    package var root: String
    /// `MemTotal` and `SwapTotal` in bytes; nil when `proc/meminfo` cannot be read.
    package var memoryTotal: UInt64?
    package var swapTotal: UInt64?
    package var selinux: SELinux
    package var listeners: [Listener]

    package init(
        root: String = "/", memoryTotal: UInt64?, swapTotal: UInt64?, selinux: SELinux, listeners: [Listener]
    ) {
        self.root = root
        self.memoryTotal = memoryTotal
        self.swapTotal = swapTotal
        self.selinux = selinux
        self.listeners = listeners
    }

    /// Reads every fact under `root`.
    package static func read(root: String = "/") -> HostFacts {
        let meminfo = text(root, "proc/meminfo").map(parseMeminfo) ?? [:]
        var listeners: [Listener] = []
        for (file, proto, v6) in [
            ("tcp", "tcp", false), ("tcp6", "tcp", true), ("udp", "udp", false), ("udp6", "udp", true),
        ] {
            guard let table = text(root, "proc/net/\(file)") else { continue }
            listeners += parseSocketTable(table, proto: proto, ipv6: v6)
        }
        return HostFacts(
            root: root, memoryTotal: meminfo["MemTotal"], swapTotal: meminfo["SwapTotal"],
            selinux: readSELinux(root: root), listeners: listeners)
    }

    private static func text(_ root: String, _ path: String) -> String? {
        let full = root.hasSuffix("/") ? root + path : root + "/" + path
        return FileManager.default.contents(atPath: full).map { String(decoding: $0, as: UTF8.self) }
    }

    /// `MemTotal:  24684084 kB` → bytes, by key.
    package static func parseMeminfo(_ text: String) -> [String: UInt64] {
        var values: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == ":" || $0 == " " })
            guard fields.count >= 2, let n = UInt64(fields[1]) else { continue }
            values[String(fields[0])] = fields.count >= 3 && fields[2] == "kB" ? n * 1024 : n
        }
        return values
    }

    /// `sys/fs/selinux/enforce` holds 1 (enforcing) or 0 (permissive); without it SELinux is off.
    static func readSELinux(root: String) -> SELinux {
        switch text(root, "sys/fs/selinux/enforce")?.trimmingCharacters(in: .whitespacesAndNewlines) {
        case "1": .enforcing
        case "0": .permissive
        default: .absent
        }
    }

    /// The listening rows of a `/proc/net/tcp`-style table (state 0A; for UDP every bound row,
    /// state 07). Addresses are written as the kernel stores them: 32-bit words in this
    /// machine's byte order, which is little-endian on every platform Mailroom builds for.
    package static func parseSocketTable(_ text: String, proto: String, ipv6: Bool) -> [Listener] {
        var found: [Listener] = []
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count >= 10 else { continue }
            let state = fields[3]
            guard proto == "tcp" ? state == "0A" : state == "07" else { continue }
            let local = fields[1].split(separator: ":")
            guard local.count == 2, let port = Int(local[1], radix: 16), let inode = UInt64(fields[9]),
                let address = decodeAddress(String(local[0]), ipv6: ipv6)
            else { continue }
            found.append(Listener(proto: proto, address: address, port: port, inode: inode))
        }
        return found
    }

    private static func decodeAddress(_ hex: String, ipv6: Bool) -> String? {
        guard hex.count == (ipv6 ? 32 : 8) else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 8)
            guard let word = UInt32(hex[index..<next], radix: 16) else { return nil }
            // The word was printed from memory as a native integer: its bytes, little-endian first.
            bytes += [UInt8(word & 0xff), UInt8(word >> 8 & 0xff), UInt8(word >> 16 & 0xff), UInt8(word >> 24)]
            index = next
        }
        if !ipv6 { return bytes.map(String.init).joined(separator: ".") }
        var raw = in6_addr()
        withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return String(cString: buffer)
    }

    /// Which processes hold the sockets `inodes`: every `proc/<pid>/fd/*` that links to
    /// `socket:[inode]`. Run as root to see every process's descriptors.
    package func holders(of inodes: Set<UInt64>) -> [UInt64: Holder] {
        guard !inodes.isEmpty else { return [:] }
        let proc = (root.hasSuffix("/") ? root : root + "/") + "proc"
        let fm = FileManager.default
        var found: [UInt64: Holder] = [:]
        for entry in (try? fm.contentsOfDirectory(atPath: proc)) ?? [] {
            guard let pid = Int(entry) else { continue }
            let fdDirectory = "\(proc)/\(pid)/fd"
            for fd in (try? fm.contentsOfDirectory(atPath: fdDirectory)) ?? [] {
                guard let target = try? fm.destinationOfSymbolicLink(atPath: "\(fdDirectory)/\(fd)"),
                    target.hasPrefix("socket:["), let inode = UInt64(target.dropFirst(8).dropLast()),
                    inodes.contains(inode), found[inode] == nil
                else { continue }
                let command =
                    fm.contents(atPath: "\(proc)/\(pid)/comm").map {
                        String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                    } ?? "?"
                let arguments =
                    fm.contents(atPath: "\(proc)/\(pid)/cmdline").map {
                        $0.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                    } ?? []
                found[inode] = Holder(pid: pid, command: command, container: Self.conmonContainer(arguments))
            }
            if found.count == inodes.count { break }
        }
        return found
    }

    /// Rootful podman leaves a published port open in the container's `conmon`, whose
    /// arguments name the container (`-n NAME`).
    static func conmonContainer(_ arguments: [String]) -> String? {
        guard let first = arguments.first, first.hasSuffix("conmon"),
            let flag = arguments.firstIndex(where: { $0 == "-n" || $0 == "--name" }), flag + 1 < arguments.count
        else { return nil }
        return arguments[flag + 1]
    }
}
