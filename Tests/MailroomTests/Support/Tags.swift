import Testing

extension Tag {
    /// Decides from its inputs alone: no podman, git, sshd, network, clock or shared files.
    @Tag static var pure: Self
    /// Drives the real podman (see shared/notes/podman-here.md).
    @Tag static var podman: Self
    /// Makes or fetches real git repositories.
    @Tag static var git: Self
    /// Starts an sshd on loopback.
    @Tag static var sshd: Self
    /// Uses this machine, but none of podman, git or sshd: temporary files, sockets, inotify,
    /// threads, or child processes such as the built `mailroom` or `systemd-analyze`.
    @Tag static var os: Self
}

/// Every `.pure` suite is nested in here (`extension PureTests { @Suite(.tags(.pure)) struct … }`).
///
/// `swift test` (Swift 6.3) cannot select tests by tag: `--filter` and `--skip` are regular
/// expressions matched against test IDs such as `MailroomTests.PureTests/SubnetTests/parse()`,
/// and tags are not part of an ID. Nesting puts the tag into the ID, so
///
///     swift test --filter MailroomTests.PureTests
///
/// runs exactly the pure tests, and `--skip MailroomTests.PureTests` everything else.
/// The suite carries `.pure` itself, so nested suites inherit it even if one forgets it.
@Suite(.tags(.pure)) enum PureTests {}

extension Tag {
    /// Starts Knot and Unbound on loopback (see Tests/MailroomTests/DNS/DNSTestServers.swift).
    @Tag static var dns: Self
}
