/// Host locations Mailroom reads and writes, outside the spec.
public struct HostPaths: Sendable, Equatable, Codable {
    public var stateDirectory: String
    public var unitsDirectory: String
    public var secretsFile: String
    /// Which of a spec's `hosts:` this machine is (`--host`); `nil` is its hostname.
    public var hostName: String?

    public init(
        stateDirectory: String = "/var/lib/mailroom", unitsDirectory: String = "/etc/systemd/system",
        secretsFile: String = "/etc/mailroom/secrets.env", hostName: String? = nil
    ) {
        self.hostName = hostName
        self.stateDirectory = stateDirectory
        self.unitsDirectory = unitsDirectory
        self.secretsFile = secretsFile
    }
}
