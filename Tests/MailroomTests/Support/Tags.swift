import Testing

/// What a test needs besides the code under test. Untagged and `.pure` tests need nothing:
/// `swift test --filter` runs them alone (see the README).
extension Tag {
    /// Runs in memory: no processes, no podman, no git repository.
    @Tag static var pure: Self
    /// Drives the real podman (rootful, the test containers.conf).
    @Tag static var podman: Self
    /// Makes real git repositories (libgit2 and the git command line).
    @Tag static var git: Self
    /// Starts an sshd on loopback.
    @Tag static var sshd: Self
}
