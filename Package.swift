// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

// The pipeline, one target per stage group. Each target may use only the ones listed under it,
// so a dependency that runs backwards is a compile error:
//
//   MailroomSupport                    diagnostics, addresses, times, atomic files, host paths
//   MailroomSpec      → Support        the spec: reading, the container keys, validation, profiles
//   MailroomRender    → Spec           explicit spec → desired state; the one compile path
//   MailroomMailu     → Spec           the Mailu profile: everything Mailu-specific
//   MailroomSource    → Support        git (libgit2) and the refs watch
//   MailroomHost      → Support        the only code that starts processes: podman, systemctl
//   MailroomDNS       → Support        DNS queries, checks and RFC 2136 updates (ldns)
//   MailroomPlan      → Render, Host   observe the host, diff, the pipeline
//   MailroomApply     → Plan           apply, journal, history, rollback
//   MailroomAgent     → Apply, Source  triggers, reconciler, HTTP listener
//   mailroom (CLI)    → Agent, Mailu, DNS   one file per command
//   MailroomTestSupport, mailroom-bench: stand-in images, scratch repositories; never in `mailroom`
//   mailu-admin-fake                   a fake `flask mailu` for the stand-in admin image; tests only
let package = Package(
    name: "mailroom",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "mailroom", targets: ["mailroom"]),
        .executable(name: "mailroom-bench", targets: ["mailroom-bench"]),
        .library(name: "MailroomAgent", targets: ["MailroomAgent"]),
        .library(name: "MailroomMailu", targets: ["MailroomMailu"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // The agent: startup order and SIGTERM, and the webhook/status listener.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    targets: [
        // libgit2 from Debian's libgit2-dev; the Swift wrapper lives in MailroomSource.
        .systemLibrary(name: "CGit2", pkgConfig: "libgit2", providers: [.apt(["libgit2-dev"])]),
        // NLnet Labs' ldns from Debian's libldns-dev: the DNS client of MailroomDNS.
        .systemLibrary(name: "CLDNS", pkgConfig: "ldns", providers: [.apt(["libldns-dev"])]),
        // posix_spawn close-from, which the Glibc module does not import (see ProcessRunner).
        .target(name: "CSpawn"),
        .target(
            name: "MailroomSupport",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                // RSA keys (Mailu's DKIM keys): generate, PKCS#8 PEM, the public half.
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MailroomSpec",
            dependencies: ["MailroomSupport", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MailroomRender", dependencies: ["MailroomSpec", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        .target(
            name: "MailroomMailu", dependencies: ["MailroomSpec", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        .target(
            name: "MailroomSource",
            dependencies: [
                "MailroomSupport", "CGit2", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ], swiftSettings: swiftSettings),
        .target(
            name: "MailroomHost",
            dependencies: ["MailroomSupport", "CSpawn", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),
        .target(
            name: "MailroomDNS", dependencies: ["MailroomSupport", "CLDNS"], swiftSettings: swiftSettings),
        .target(
            name: "MailroomPlan",
            dependencies: ["MailroomRender", "MailroomHost", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        .target(
            name: "MailroomApply",
            dependencies: [
                "MailroomPlan", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ], swiftSettings: swiftSettings),
        .target(
            name: "MailroomAgent",
            dependencies: [
                "MailroomApply",
                "MailroomSource",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "FlyingFox", package: "FlyingFox"),
                .product(name: "FlyingSocks", package: "FlyingFox"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mailroom",
            dependencies: [
                "MailroomAgent",
                "MailroomMailu",
                "MailroomDNS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // Stand-in images, scratch repositories and fakes for the tests and the benchmarks.
        .target(
            name: "MailroomTestSupport",
            dependencies: [
                "MailroomAgent", "MailroomMailu", "MailroomDNS", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mailroom-bench",
            dependencies: ["MailroomTestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // A FAKE of Mailu's admin CLI (`flask mailu admin|config-export|config-import` over a JSON
        // file), for tests only: the stand-in admin image runs it as /usr/bin/flask. It uses
        // FoundationEssentials only and links fully static (glibc too) so that it runs in the
        // busybox image; the three libraries are what FoundationEssentials needs statically, which
        // swiftc lists by itself only when the compile was static too. In no product.
        .executableTarget(
            name: "mailu-admin-fake",
            swiftSettings: swiftSettings,
            linkerSettings: [
                .unsafeFlags([
                    "-static-executable", "-l_FoundationCollections", "-l_FoundationCShims", "-lswiftSynchronization",
                ])
            ]
        ),
        .testTarget(
            name: "MailroomTests",
            // Not mailu-admin-fake: its linker flags would reach the test bundle's link too and
            // fail it. `swift build --build-tests` and `swift test` build it all the same (every
            // executable of the package), and the tests run it found next to them, like `mailroom`.
            dependencies: ["MailroomTestSupport"],
            // Read from the repository by path, not bundled.
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
    ]
)

// The libFuzzer target for the compile path (contrib/fuzz.sh), only with MAILROOM_FUZZ=1. It has
// no `main` of its own: with `--sanitize fuzzer` SwiftPM compiles it as a library and libFuzzer's
// main drives it; a plain build would link an executable that does nothing, so the normal build
// and CI leave it out. Never part of `mailroom`.
if Context.environment["MAILROOM_FUZZ"] == "1" {
    package.products.append(.executable(name: "mailroom-fuzz", targets: ["mailroom-fuzz"]))
    package.targets.append(
        .executableTarget(
            name: "mailroom-fuzz",
            dependencies: [
                "MailroomRender", "MailroomMailu", "MailroomSpec", "MailroomSupport",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ))
}
