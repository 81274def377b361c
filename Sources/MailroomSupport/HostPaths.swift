/// Host locations Mailroom reads and writes, outside the spec.
public struct HostPaths: Sendable, Equatable, Codable {
    public var stateDirectory: String
    public var unitsDirectory: String
    public var secretsFile: String

    public init(
        stateDirectory: String = "/var/lib/mailroom", unitsDirectory: String = "/etc/systemd/system",
        secretsFile: String = "/etc/mailroom/secrets.env"
    ) {
        self.stateDirectory = stateDirectory
        self.unitsDirectory = unitsDirectory
        self.secretsFile = secretsFile
    }
}
