import Crypto
import Foundation
import Testing

@testable import MailroomSource

extension PureTests {
    /// Remote URLs and known_hosts, parsed and matched in memory.
    @Suite("Source: URL classification and known_hosts", .tags(.pure))
    struct SourceRemoteURLTests {
        @Test("local paths, relative paths and file:// URLs")
        func localForms() throws {
            #expect(try GitRemoteURL("/srv/git/spec.git/").kind == .local(path: "/srv/git/spec.git"))
            #expect(try GitRemoteURL("spec.git", relativeTo: "/srv/git").kind == .local(path: "/srv/git/spec.git"))
            #expect(try GitRemoteURL("./a:b", relativeTo: "/srv").kind == .local(path: "/srv/a:b"))
            let file = try GitRemoteURL("file:///srv/git/my%20spec.git")
            #expect(file.kind == .local(path: "/srv/git/my spec.git"))
            #expect(file.url == "file:///srv/git/my%20spec.git")
            #expect(file.isLocal)
            #expect(try GitRemoteURL("file://localhost/srv/x").localPath == "/srv/x")
            #expect(gitError { try GitRemoteURL("file://otherhost/srv/x") }?.code == .invalidURL)
        }

        @Test("https URLs, with a port, and never with a password")
        func httpsForms() throws {
            #expect(
                try GitRemoteURL("https://git.example.org/ops/mail.git").kind
                    == .https(host: "git.example.org", port: nil))
            #expect(
                try GitRemoteURL("https://deploy@git.example.org:8443/ops/mail.git").kind
                    == .https(host: "git.example.org", port: 8443))
            let error = gitError { try GitRemoteURL("https://bot:s3cret@git.example.org/ops/mail.git") }
            #expect(error?.code == .invalidURL)
            #expect(error?.message.contains("s3cret") == false)
            #expect(gitError { try GitRemoteURL("http://git.example.org/x.git") }?.code == .invalidURL)
            #expect(gitError { try GitRemoteURL("git://git.example.org/x.git") }?.code == .invalidURL)
            #expect(gitError { try GitRemoteURL("https://git.example.org:99999/x.git") }?.code == .invalidURL)
        }

        @Test("ssh:// and scp-like URLs, and their known_hosts names")
        func sshForms() throws {
            let full = try GitRemoteURL("ssh://root@127.0.0.1:2222/srv/git/origin.git")
            #expect(full.kind == .ssh(user: "root", host: "127.0.0.1", port: 2222))
            #expect(full.knownHostsName == "[127.0.0.1]:2222")
            let noPort = try GitRemoteURL("ssh://git.example.org/ops/mail.git")
            #expect(noPort.kind == .ssh(user: nil, host: "git.example.org", port: 22))
            #expect(noPort.knownHostsName == "git.example.org")
            let v6 = try GitRemoteURL("ssh://git@[::1]:2200/x.git")
            #expect(v6.kind == .ssh(user: "git", host: "::1", port: 2200))
            #expect(v6.knownHostsName == "[::1]:2200")
            let scp = try GitRemoteURL("git@github.example:ops/mail.git")
            #expect(scp.kind == .ssh(user: "git", host: "github.example", port: 22))
            #expect(scp.url == "git@github.example:ops/mail.git")
            #expect(try GitRemoteURL("host:repo.git").kind == .ssh(user: nil, host: "host", port: 22))
            #expect(gitError { try GitRemoteURL("ssh://host") }?.code == .invalidURL)
            #expect(gitError { try GitRemoteURL("") }?.code == .invalidURL)
        }

        @Test("known_hosts: plain, bracketed port, hashed, wildcard, negated and revoked entries")
        func knownHostsMatching() throws {
            let keyA = Data([0, 0, 0, 11] + Array("ssh-ed25519".utf8) + [1, 2, 3])
            let keyB = Data([0, 0, 0, 11] + Array("ssh-ed25519".utf8) + [4, 5, 6])
            let salt = Data((0..<20).map { UInt8($0) })
            let hash = Data(
                HMAC<Insecure.SHA1>.authenticationCode(
                    for: Data("hashed.example".utf8), using: SymmetricKey(data: salt)))
            let text = """
                # comment
                plain.example,alias.example ssh-ed25519 \(keyA.base64EncodedString())
                [127.0.0.1]:2222 ssh-ed25519 \(keyA.base64EncodedString())
                |1|\(salt.base64EncodedString())|\(hash.base64EncodedString()) ssh-ed25519 \(keyA.base64EncodedString())
                *.wild.example,!bad.wild.example ssh-ed25519 \(keyA.base64EncodedString())
                @revoked plain.example ssh-ed25519 \(keyB.base64EncodedString())
                @cert-authority *.example ssh-ed25519 \(keyB.base64EncodedString())
                """
            let known = KnownHosts(path: "known_hosts", text: text)
            let a = KnownHosts.PresentedKey(type: "ssh-ed25519", blob: keyA)
            let b = KnownHosts.PresentedKey(type: "ssh-ed25519", blob: keyB)
            #expect(known.verify(name: "plain.example", key: a) == .trusted)
            #expect(known.verify(name: "ALIAS.example", key: a) == .trusted)
            #expect(known.verify(name: "plain.example", key: b) == .revoked)
            #expect(known.verify(name: "[127.0.0.1]:2222", key: a) == .trusted)
            #expect(known.verify(name: "[127.0.0.1]:2222", key: b) == .mismatch(knownTypes: ["ssh-ed25519"]))
            #expect(known.verify(name: "127.0.0.1", key: a) == .unknown)  // port 22 is another host entry
            #expect(known.verify(name: "hashed.example", key: a) == .trusted)
            #expect(known.verify(name: "x.wild.example", key: a) == .trusted)
            #expect(known.verify(name: "bad.wild.example", key: a) == .unknown)
            #expect(known.verify(name: "other.example", key: b) == .unknown)  // a CA line trusts nothing
            // Only a hash from libssh2: compare digests.
            let digest = KnownHosts.PresentedKey(sha256: Data(SHA256.hash(data: keyA)))
            #expect(known.verify(name: "plain.example", key: digest) == .trusted)
            #expect(KnownHosts.keyType(ofBlob: keyA) == "ssh-ed25519")
        }
    }
}

/// Credentials are checked against the transport and against the files they name.
@Suite("Source: credentials and their files", .tags(.os))
struct SourceCredentialFilesTests {
    @Test("credentials must fit the transport")
    func credentialsFitTransport() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailroom-cred-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let token = dir + "/token"
        let key = dir + "/id"
        let hosts = dir + "/known_hosts"
        for file in [token, key, hosts] { try Data("x\n".utf8).write(to: URL(fileURLWithPath: file)) }

        func configure(_ url: String, _ credentials: GitCredentials) -> GitError? {
            gitError { try SourceConfiguration(repository: url, credentials: credentials, stateDirectory: dir) }
        }
        #expect(configure("https://h/x.git", GitCredentials(tokenFile: token)) == nil)
        #expect(configure("https://h/x.git", GitCredentials(sshKey: key))?.code == .invalidConfiguration)
        #expect(configure("https://h/x.git", GitCredentials(tokenFile: dir + "/none"))?.code == .invalidConfiguration)
        #expect(configure("ssh://git@h/x.git", GitCredentials(sshKey: key, knownHosts: hosts)) == nil)
        let noHosts = configure("ssh://git@h/x.git", GitCredentials(sshKey: key))
        #expect(noHosts?.code == .invalidConfiguration)
        #expect(noHosts?.hint?.contains("--known-hosts") == true)
        #expect(
            configure("ssh://git@h/x.git", GitCredentials(tokenFile: token, sshKey: key, knownHosts: hosts))?.code
                == .invalidConfiguration)
        #expect(configure("/srv/x.git", GitCredentials(tokenFile: token))?.code == .invalidConfiguration)
        #expect(
            gitError { try SourceConfiguration(repository: "/srv/x.git", branch: "bad..name", stateDirectory: dir) }?
                .code
                == .invalidConfiguration)
    }
}
