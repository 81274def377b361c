import Foundation

@testable import MailroomMailu
@testable import MailroomRender
@testable import MailroomSpec
@testable import MailroomSupport

/// Paths of the repository, found from this file.
enum Fixtures {
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.path + "/Package.swift") { return url.path }
        }
        return FileManager.default.currentDirectoryPath
    }()

    static var seedGuide: String { repositoryRoot + "/examples/seed-guide" }
    static var minimal: String { repositoryRoot + "/examples/minimal" }

    /// The one compile path, with the Mailu profile and `unitsDirectory`.
    static func compiler(unitsDirectory: String = "/etc/systemd/system") -> SpecCompiler {
        SpecCompiler(profile: MailuProfile(), unitsDirectory: unitsDirectory)
    }

    /// Compiles spec text with a fixed secret and no host.
    static func compile(
        _ text: String, file: String = "mailroom.yaml", secret: String = "s3cret",
        unitsDirectory: String = "/etc/systemd/system"
    ) throws -> CompiledSpec {
        try compiler(unitsDirectory: unitsDirectory).compile(
            SpecText(text, file: file), secrets: .values(SecretValues(path: "(test)", values: ["SECRET_KEY": secret])))
    }

    /// Compiles the spec in `directory` with a fixed secret and no host.
    static func compile(directory: String, secret: String = "s3cret", unitsDirectory: String = "/etc/systemd/system")
        throws -> CompiledSpec
    {
        let text = try SpecText.directory(directory)
        return try compile(text.text, file: text.file, secret: secret, unitsDirectory: unitsDirectory)
    }

    /// The seed guide compiled with a fixed secret and no host.
    static func compileSeedGuide(secret: String = "s3cret") throws -> CompiledSpec {
        try compile(directory: seedGuide, secret: secret)
    }

    /// Compiles spec text; returns every problem if it is invalid, none if it is valid.
    static func diagnostics(_ text: String) -> [SpecDiagnostic] {
        do {
            _ = try compile(text, secret: "x", unitsDirectory: "/u")
            return []
        } catch let error as SpecError {
            return error.diagnostics
        } catch {
            return []
        }
    }
}
