import Foundation
import _CryptoExtras

/// An RSA private key in a PKCS#8 PEM file, as Mailu's admin writes DKIM keys
/// (`/dkim/<domain>.<selector>.key`), and its public half for DNS.
public enum RSAKeyFile {
    /// Creates a new RSA-2048 key at `path`; an existing file is left as it is (`false`).
    @discardableResult
    public static func create(at path: String, mode: Int = 0o600) throws -> Bool {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        return try AtomicFile.create(Data(key.pkcs8PEMRepresentation.utf8), at: path, mode: mode)
    }

    /// The base64 DER SubjectPublicKeyInfo of the key at `path`: the `p=` of a DKIM record.
    public static func publicKeyBase64(at path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RSAKeyFileError(path: path, reason: "no such file")
        }
        do {
            let key = try _RSA.Signing.PrivateKey(pemRepresentation: String(decoding: data, as: UTF8.self))
            return key.publicKey.derRepresentation.base64EncodedString()
        } catch {
            throw RSAKeyFileError(path: path, reason: "not an RSA private key in PEM form (\(error))")
        }
    }

    /// The key's size in bits.
    public static func bits(at path: String) throws -> Int {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RSAKeyFileError(path: path, reason: "no such file")
        }
        return try _RSA.Signing.PrivateKey(pemRepresentation: String(decoding: data, as: UTF8.self)).keySizeInBits
    }
}

public struct RSAKeyFileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}
