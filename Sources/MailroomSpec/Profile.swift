import MailroomSupport

/// An application profile: it reads its own sections of `mailroom.yaml` (Mailu's `mailu`,
/// `domains` and `caddy`) and expands them into the containers, files and directories they
/// stand for. The engine knows containers, files, units and a network; everything about one
/// application lives behind these two protocols.
public protocol Profile: Sendable {
    /// The top-level keys of `mailroom.yaml` that belong to the profile.
    var sectionKeys: [String] { get }

    /// Reads and checks the profile's sections, reporting every problem into `diagnostics`.
    func read(_ top: MappingReader, file: String, _ diagnostics: inout DiagnosticCollector) -> any ProfileSettings
}

/// A profile's settings, read from one spec.
public protocol ProfileSettings: Sendable {
    /// Keys the secrets file must hold for this spec.
    var requiredSecrets: [String] { get }

    /// The containers, files and directories the settings stand for, with the spec's
    /// `containers:` patches applied. Problems found on the way go into `diagnostics`.
    func expand(_ spec: DeploymentSpec, secrets: SecretValues, _ diagnostics: inout DiagnosticCollector) -> ExplicitSpec
}

/// The version of the application a profile runs, when its upgrades cannot be undone
/// (Mailu migrates its database on start): apply refuses to lower it on a running deployment.
public struct ApplicationVersion: Sendable, Equatable, Codable {
    public var application: String
    public var version: String

    public init(application: String, version: String) {
        self.application = application
        self.version = version
    }

    /// Compares dotted versions numerically (`2.0` < `2.0.1` < `2.1` < `10.0`); `nil` when either is not numeric.
    public static func compare(_ a: String, _ b: String) -> Comparison? {
        func parts(_ v: String) -> [Int]? {
            let numbers = v.split(whereSeparator: { $0 == "." || $0 == "-" }).map { Int($0) }
            return numbers.contains(nil) || numbers.isEmpty ? nil : numbers.map { $0! }
        }
        guard let x = parts(a), let y = parts(b) else { return a == b ? .same : nil }
        for i in 0..<max(x.count, y.count) {
            let l = i < x.count ? x[i] : 0
            let r = i < y.count ? y[i] : 0
            if l != r { return l < r ? .older : .newer }
        }
        return .same
    }

    /// How the first version of `compare(_:_:)` relates to the second.
    public enum Comparison: Sendable, Equatable {
        case older, same, newer
    }
}
