// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "AliceDB",
    products: [
        .library(name: "AliceFormat", targets: ["AliceFormat"]),
        .library(name: "AliceDB", targets: ["AliceDB"]),
        .executable(name: "alicedb", targets: ["alicedb"]),
        .library(name: "MQTT", targets: ["MQTT"]),
        .library(name: "CloudClient", targets: ["CloudClient"]),
        .executable(name: "alicedb-agent", targets: ["alicedb-agent"]),
        .executable(name: "alicedb-cloud", targets: ["alicedb-cloud"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.30.0"),
        // Only the cloud node links Hummingbird; full Foundation stays out of it too.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0", traits: []),
        // The cloud node's shared store ([storage] kind = "postgres").
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        // SHA-256 of the tokens kept in PostgreSQL (already linked by postgres-nio).
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        // The agent's lifecycle: intake, uplink, reload and HTTP as services of one group.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        // Typed file descriptors and errno for the engine's file layer.
        .package(url: "https://github.com/apple/swift-system.git", from: "1.4.0"),
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
        // Pure code over buffers: codecs, the fitting competition, the segment format and batches.
        .target(name: "AliceFormat", dependencies: ["CLZMA"]),
        .target(
            name: "AliceDB",
            dependencies: [
                "AliceFormat",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // TOML configuration files with errors that name the file, line and key (agent and cloud).
        .target(name: "TOMLConfig", dependencies: [.product(name: "TOMLKit", package: "TOMLKit")]),
        // The status documents of an agent and a node (`alicedb status`), as JSON and as text.
        .target(name: "FleetStatus"),
        // The cloud node's HTTP API from the outside: the agent's uploads and the CLI's queries.
        .target(
            name: "CloudClient",
            dependencies: [
                "AliceDB", "FleetStatus",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The read API (JSON/CSV queries, the Prometheus API and its PromQL evaluation) without a web
        // framework: the cloud node's Hummingbird routes and the agent's NIO listener both answer with it.
        .target(
            name: "ReadAPI",
            dependencies: ["AliceDB", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(
            name: "Agent",
            dependencies: [
                "AliceDB", "CloudClient", "FleetStatus", "MQTT", "ReadAPI", "TOMLConfig",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "alicedb-agent",
            dependencies: [
                "Agent", "FleetStatus",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "alicedb",
            dependencies: [
                "AliceDB", "CloudClient", "FleetStatus",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "Cloud",
            dependencies: [
                "AliceDB", "FleetStatus", "ReadAPI", "TOMLConfig",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "alicedb-cloud",
            dependencies: [
                "Cloud", "FleetStatus",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Waiting on a condition with a deadline, and temp directories: every test target and the harness.
        .target(name: "TestKit"),
        // Data set slices, codec round trips and random series shared by the engine's test targets.
        .target(name: "TestSupport", dependencies: ["AliceFormat"], path: "Tests/TestSupport"),
        .testTarget(
            name: "AliceFormatTests",
            dependencies: [
                "AliceFormat", "TestSupport", .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "AliceDBTests",
            dependencies: [
                "AliceDB", "AliceFormat", "TestKit", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Real mosquitto and child processes on loopback, shared by the agent tests and its benchmark.
        .target(name: "AgentHarness", dependencies: ["TestKit"]),
        .executableTarget(
            name: "alicedb-agent-bench",
            dependencies: [
                "Agent", "AgentHarness", "AliceDB",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "AgentTests",
            dependencies: [
                "Agent", "AgentHarness", "AliceDB", "MQTT", "TOMLConfig", "TestKit",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The MQTT wrapper against a real mosquitto: the event queue's back-pressure and shutdown races.
        .testTarget(name: "MQTTTests", dependencies: ["MQTT", "AgentHarness", "TestKit"]),
        .testTarget(name: "TOMLConfigTests", dependencies: ["TOMLConfig", "TestKit"]),
        // Uplink bytes per point against line protocol + gzip, and cloud ingest throughput.
        .executableTarget(
            name: "alicedb-cloud-bench",
            dependencies: [
                "AgentHarness", "AliceDB",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "CloudTests",
            dependencies: [
                "Cloud", "AgentHarness", "AliceDB", "ReadAPI", "TestKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // CloudClient against a real cloud node run in-process on 127.0.0.1 and port 0; its HTTP transport
        // against a small NIO server there.
        .testTarget(
            name: "CloudClientTests",
            dependencies: [
                "CloudClient", "Cloud", "AliceDB", "TestKit", "TestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)

// Every target gets the same strict settings (house style): Swift 6 mode is the tools default.
for target in package.targets where target.type != .system {
    target.swiftSettings =
        (target.swiftSettings ?? []) + [
            .enableUpcomingFeature("ExistentialAny"),
            .enableUpcomingFeature("MemberImportVisibility"),
            .enableUpcomingFeature("InternalImportsByDefault"),
        ]
}

// Coverage-guided fuzz targets (docs/reliability.md), only when `scripts/fuzz.sh` builds them
// (ALICEDB_FUZZ=1, `-sanitize=fuzzer`, its own scratch path): `swift build` and the tests never
// see them. Inside this package so that they reach the `package` decoders they fuzz.
if Context.environment["ALICEDB_FUZZ"] != nil {
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("fuzz-segment", ["AliceFormat"]),
        ("fuzz-batch", ["AliceFormat"]),
        ("fuzz-payload", ["Agent"]),
        ("fuzz-segment-file", ["FuzzStore"]),
        ("fuzz-wal", ["FuzzStore"]),
        ("fuzz-query", ["AliceDB", "ReadAPI", .product(name: "Logging", package: "swift-log")]),
        ("fuzz-agent-config", ["Agent"]),
        ("fuzz-cloud-config", ["Cloud"]),
    ]
    // What the segment-file and WAL targets share: a database directory per input, checksums made right.
    package.targets.append(
        .target(
            name: "FuzzStore",
            dependencies: ["AliceDB", "AliceFormat", .product(name: "Logging", package: "swift-log")],
            path: "Fuzz/Sources/FuzzStore"))
    for (name, dependencies) in fuzzTargets {
        package.targets.append(
            .executableTarget(
                name: name, dependencies: dependencies, path: "Fuzz/Sources/\(name)",
                swiftSettings: [
                    .enableUpcomingFeature("ExistentialAny"),
                    .enableUpcomingFeature("MemberImportVisibility"),
                    .enableUpcomingFeature("InternalImportsByDefault"),
                    // libFuzzer brings `main`; the target only exports LLVMFuzzerTestOneInput.
                    .unsafeFlags(["-parse-as-library"]),
                ]))
    }
    // Writes Fuzz/corpus from the committed data set slices; built without the sanitizer.
    package.targets.append(
        .executableTarget(
            name: "fuzz-seeds",
            dependencies: ["AliceDB", "AliceFormat", .product(name: "Logging", package: "swift-log")],
            path: "Fuzz/Sources/fuzz-seeds"))
}
