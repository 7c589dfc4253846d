// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "AliceDB",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "AliceDB", targets: ["AliceDB"]),
        .executable(name: "alicedb", targets: ["alicedb"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLZMA",
            pkgConfig: "liblzma",
            providers: [.apt(["liblzma-dev"])]
        ),
        .target(
            name: "AliceDB",
            dependencies: [
                "CLZMA",
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
