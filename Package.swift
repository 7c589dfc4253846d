// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "AliceDB",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "AliceDB", targets: ["AliceDB"]),
        .executable(name: "alicedb", targets: ["alicedb"]),
        .library(name: "MQTT", targets: ["MQTT"]),
        .executable(name: "alicedb-agent", targets: ["alicedb-agent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLZMA",
            pkgConfig: "liblzma",
            providers: [.apt(["liblzma-dev"])]
        ),
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        .target(name: "MQTT", dependencies: ["CMosquitto"]),
        .target(
            name: "AliceDB",
            dependencies: [
                "CLZMA",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Agent",
            dependencies: [
                "AliceDB", "MQTT",
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "alicedb-agent",
            dependencies: [
                "Agent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "alicedb",
            dependencies: [
                "AliceDB",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "AliceDBTests",
            dependencies: [
                "AliceDB",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Real mosquitto and child processes on loopback, shared by the agent tests and its benchmark.
        .target(name: "AgentHarness"),
        .executableTarget(
            name: "alicedb-agent-bench",
            dependencies: [
                "Agent", "AgentHarness", "AliceDB",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "AgentTests",
            dependencies: ["Agent", "AgentHarness", "AliceDB", "MQTT", .product(name: "Logging", package: "swift-log")]
        ),
    ]
)

// Every target gets the same strict settings (house style): Swift 6 mode is the tools default.
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
        .enableUpcomingFeature("InternalImportsByDefault"),
    ]
}
