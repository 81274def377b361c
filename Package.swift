// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "mailroom",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Mailroom", targets: ["Mailroom"]),
        .executable(name: "mailroom", targets: ["mailroom"]),
        .executable(name: "mailroom-bench", targets: ["mailroom-bench"]),
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
        // libgit2 from Debian's libgit2-dev; the Swift wrapper lives in Mailroom/Source.
        .systemLibrary(name: "CGit2", pkgConfig: "libgit2", providers: [.apt(["libgit2-dev"])]),
        // posix_spawn close-from, which the Glibc module does not import (see ProcessRunner).
        .target(name: "CSpawn"),
        .target(
            name: "Mailroom",
            dependencies: [
                "CGit2",
                "CSpawn",
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
                "Mailroom",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mailroom-bench",
            dependencies: ["Mailroom"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MailroomTests",
            dependencies: ["Mailroom"],
            swiftSettings: swiftSettings
        ),
    ]
)
