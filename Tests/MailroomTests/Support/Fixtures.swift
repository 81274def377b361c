import Foundation
@testable import Mailroom

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

    /// The seed guide compiled with a fixed secret and no host.
    static func compileSeedGuide(secret: String = "s3cret") throws -> CompiledSpec {
        let spec = try SpecLoader.load(directory: seedGuide)
        return try Renderer.compile(spec, secrets: SecretValues(path: "(test)", values: ["SECRET_KEY": secret]), unitsDirectory: "/etc/systemd/system")
    }

    /// Parses and compiles spec text; returns the diagnostics if it is invalid.
    static func diagnostics(_ text: String) -> [SpecDiagnostic] {
        do {
            let (spec, earlier) = SpecLoader.read(text, file: "mailroom.yaml")
            guard let spec else { return earlier }
            _ = try Renderer.compile(spec, secrets: SecretValues(path: "(test)", values: ["SECRET_KEY": "x"]), unitsDirectory: "/u", earlier: earlier)
            return []
        } catch let error as SpecError {
            return error.diagnostics
        } catch {
            return []
        }
    }
}
