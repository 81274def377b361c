import MailroomSupport

/// The grammar a container key's values follow: that of the program that reads them (podman,
/// a unit, an env file). The validator checks every value written in the spec against its
/// key's grammar; values the profile derived from settings were checked with those settings.
/// Every value, whatever its grammar, must also be free of control characters.
package enum ValueGrammar: Sendable, Equatable {
    /// Any text without control characters.
    case text
    /// An OCI image reference with a tag or digest.
    case image
    /// A strict RFC 1123 hostname.
    case hostname
    /// An address of the network's IPv4 or IPv6 subnet (checked with the network).
    case ipv4Address, ipv6Address
    /// Any IP address (`--dns`).
    case ipAddress
    /// Environment variables: valid names.
    case environment
    /// Labels: a name without `=`.
    case labels
    /// An absolute host path without `..`.
    case hostPath
    /// `/HOST:/CONTAINER[:OPTIONS]` or `NAME:/CONTAINER`.
    case volume
    /// `[IP:]HOST:CONTAINER[/PROTOCOL]`.
    case portMapping
    /// A size as podman reads it: `512m`, `1g`, `1.5GiB`, `1073741824`.
    case size
    /// A whole number of at least 0.
    case nonNegative
    /// `no`, `always`, `unless-stopped` or `on-failure[:N]`.
    case restartPolicy
    /// A podman log driver.
    case logDriver
    /// `NAME=VALUE`.
    case logOption
    /// Durations as podman reads them (`30s`, `1m30s`), `disable` for the interval, retries of at least 0.
    case healthcheck
    /// A podman flag written as one item: `--flag` or `--flag=value`.
    case podmanFlag
    /// The name of another container of the spec.
    case containerName

    /// What is wrong with `text` for this grammar and what to write instead, or `nil` when it
    /// fits. Grammars that depend on the rest of the spec (addresses, ports, container names)
    /// are checked by the validator and answer `nil` here.
    package func problem(_ text: String) -> (message: String, hint: String)? {
        switch self {
        case .text, .ipv4Address, .ipv6Address, .portMapping, .containerName, .environment, .healthcheck, .volume,
            .hostPath:
            return nil
        case .image:
            return ImageReference.problem(text)
        case .hostname:
            return Grammar.isHostname(text, requireDot: false)
                ? nil : ("'\(text)' is not an RFC 1123 hostname", "letters, digits and '-', labels of at most 63")
        case .ipAddress:
            return IPAddress(text) == nil ? ("'\(text)' is not an IP address", "e.g. 10.90.0.34 or fd00::1:8:34") : nil
        case .labels:
            return nil
        case .size:
            return Grammar.bytes(text) == nil
                ? ("'\(text)' is not a size", "a number with an optional unit: 512m, 1g, 1.5GiB") : nil
        case .nonNegative:
            return (Int(text) ?? -1) < 0 ? ("'\(text)' is negative", "a whole number of at least 0") : nil
        case .restartPolicy:
            return Grammar.isRestartPolicy(text)
                ? nil : ("unknown restart policy '\(text)'", "no, always, unless-stopped or on-failure[:N]")
        case .logDriver:
            return Grammar.logDrivers.contains(text)
                ? nil : ("unknown log driver '\(text)'", "one of \(Grammar.logDrivers.joined(separator: ", "))")
        case .logOption:
            let parts = text.split(separator: "=", maxSplits: 1)
            return parts.count == 2 && !parts[0].isEmpty
                ? nil : ("'\(text)' is not a log option", "write NAME=VALUE, e.g. tag=mail")
        case .podmanFlag:
            return text.hasPrefix("-")
                ? nil
                : ("'\(text)' is not a podman flag", "write each flag as one item, e.g. --init or --pids-limit=100")
        }
    }
}

/// Grammars shared by the validator and the profiles.
package enum Grammar {
    /// Strict RFC 1123: labels of letters, digits and inner hyphens, each 1–63, at most 253 in all.
    package static func isHostname(_ text: String, requireDot: Bool) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        if requireDot && labels.count < 2 { return false }
        return labels.allSatisfy { label in
            guard (1...63).contains(label.count), label.first != "-", label.last != "-" else { return false }
            return label.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || $0 == "-" }
        }
    }

    /// The first control character in `text` (C0, DEL and C1), if any: none of them survives a
    /// podman argument, a unit line, an env line or a Caddyfile token as written.
    package static func controlCharacter(in text: String) -> Unicode.Scalar? {
        text.unicodeScalars.first { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
    }

    /// A size as podman (go-units `RAMInBytes`) reads it, in bytes: digits with an optional
    /// fraction, an optional space, then `b`, `k`, `m`, `g`, `t` or `p`, an optional `i` and `b`.
    package static func bytes(_ text: String) -> Int64? {
        var rest = Substring(text.lowercased())
        let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        rest = rest.dropFirst(number.count)
        guard let value = Double(number), number.first != ".", number.last != "." else { return nil }
        if rest.hasPrefix(" ") { rest = rest.dropFirst() }
        let units: [Character: Double] = ["k": 0x1p10, "m": 0x1p20, "g": 0x1p30, "t": 0x1p40, "p": 0x1p50]
        var multiplier = 1.0
        if let unit = rest.first, let factor = units[unit] {
            multiplier = factor
            rest = rest.dropFirst()
            if rest.hasPrefix("i") { rest = rest.dropFirst() }
        }
        if rest == "b" { rest = "" }
        guard rest.isEmpty, value * multiplier < 9e18 else { return nil }
        return Int64(value * multiplier)
    }

    /// A duration as podman (Go's `time.ParseDuration`) reads it, at least 0: `0`, or numbers
    /// with units `ns`, `us`, `µs`, `ms`, `s`, `m`, `h` (`1m30s`, `1.5h`).
    package static func isDuration(_ text: String) -> Bool {
        if text == "0" { return true }
        var rest = Substring(text)
        guard !rest.isEmpty else { return false }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard number.contains(where: \.isNumber), number.filter({ $0 == "." }).count <= 1 else { return false }
            rest = rest.dropFirst(number.count)
            guard
                let unit = ["ns", "us", "µs", "ms", "s", "m", "h"].first(where: { unit in
                    rest.hasPrefix(unit) && !(unit == "m" && rest.hasPrefix("ms"))
                })
            else { return false }
            rest = rest.dropFirst(unit.count)
        }
        return true
    }

    package static func isRestartPolicy(_ text: String) -> Bool {
        if ["no", "always", "unless-stopped", "on-failure"].contains(text) { return true }
        guard text.hasPrefix("on-failure:"), let retries = Int(text.dropFirst("on-failure:".count)) else {
            return false
        }
        return retries >= 0
    }

    /// The log drivers podman 4 knows (`json-file` is its name for `k8s-file`).
    package static let logDrivers = ["k8s-file", "journald", "none", "passthrough", "json-file"]

    /// An e-mail local part as Mailu's postmaster is written (Mailu appends `@DOMAIN`): RFC 5322
    /// dot-atom characters.
    package static func isLocalPart(_ text: String) -> Bool {
        let special = "!#$%&'*+/=?^_`{|}~-".unicodeScalars
        let atoms = text.split(separator: ".", omittingEmptySubsequences: false)
        return !text.isEmpty && text.utf8.count <= 64
            && atoms.allSatisfy { atom in
                !atom.isEmpty && atom.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || special.contains($0) }
            }
    }
}

/// An OCI image reference, as podman parses it (the distribution `reference` grammar):
/// `[DOMAIN[:PORT]/]PATH[:TAG][@DIGEST]`, the path in lower case.
package enum ImageReference {
    package static func problem(_ text: String) -> (message: String, hint: String)? {
        func invalid(_ why: String) -> (message: String, hint: String) {
            ("'\(text)' is not an image reference: \(why)", "write REGISTRY/NAME:TAG, e.g. ghcr.io/mailu/admin:2.0")
        }
        guard !text.isEmpty else { return invalid("it is empty") }
        if text.unicodeScalars.contains(where: { $0.properties.isWhitespace }) {
            return invalid("it contains whitespace")
        }
        var name = Substring(text)
        var digest: Substring?
        if let at = name.firstIndex(of: "@") {
            digest = name[name.index(after: at)...]
            name = name[..<at]
        }
        var tag: Substring?
        if let colon = name.lastIndex(of: ":"), !name[colon...].contains("/") {
            tag = name[name.index(after: colon)...]
            name = name[..<colon]
        }
        var components = name.split(separator: "/", omittingEmptySubsequences: false)
        if components.count > 1, let first = components.first,
            first.contains(".") || first.contains(":") || first == "localhost" || first.contains(where: \.isUppercase)
        {
            components.removeFirst()
            guard isDomain(first) else { return invalid("'\(first)' is not a registry host") }
        }
        guard name.utf8.count <= 255 else { return invalid("the name is longer than 255 characters") }
        for component in components where !isPathComponent(component) {
            return invalid(
                component.contains(where: \.isUppercase)
                    ? "'\(component)' has upper case; repository names are lower case"
                    : "'\(component)' is not a name component")
        }
        if let tag {
            guard let first = tag.first, first.isASCII, first.isLetter || first.isNumber || first == "_",
                tag.count <= 128,
                tag.unicodeScalars.allSatisfy({ $0.isASCIIAlphanumeric || "_.-".unicodeScalars.contains($0) })
            else { return invalid("'\(tag)' is not a tag") }
        }
        if let digest {
            let parts = digest.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty, parts[1].count >= 32,
                parts[1].unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit })
            else { return invalid("'\(digest)' is not a digest") }
        }
        if tag == nil && digest == nil {
            return (
                "image '\(text)' has no tag",
                "pin a tag or digest, \(text):TAG or \(text)@sha256:DIGEST, so a deploy is repeatable"
            )
        }
        return nil
    }

    /// `host[:port]`: labels of letters, digits and inner hyphens.
    static func isDomain(_ text: Substring) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let host = parts.first, !host.isEmpty else { return false }
        if parts.count == 2, Int(parts[1]) == nil { return false }
        return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.first != "-" && label.last != "-"
                && label.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || $0 == "-" }
        }
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
    static func isPathComponent(_ text: Substring) -> Bool {
        var previousSeparator: Substring = "start"
        var run = ""
        for scalar in text.unicodeScalars {
            let lowerAlnum = ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
            if lowerAlnum {
                if !run.isEmpty, !(run == "." || run == "_" || run == "__" || run.allSatisfy { $0 == "-" }) {
                    return false
                }
                run = ""
                previousSeparator = ""
            } else if ".-_".unicodeScalars.contains(scalar) {
                if previousSeparator == "start" { return false }
                run.unicodeScalars.append(scalar)
            } else {
                return false
            }
        }
        return run.isEmpty && previousSeparator != "start"
    }
}
