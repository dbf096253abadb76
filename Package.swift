// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "sqlstore",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sqlstore", targets: ["SQLStoreCLI"]),
        .library(name: "SQLStoreMigrations", targets: ["SQLStoreMigrations"]),
        .library(name: "SQLStore", targets: ["SQLStore"]),
        .library(name: "SQLStoreHTTP", targets: ["SQLStoreHTTP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // Already a dependency of PostgresNIO; named here for SHA-256 checksums.
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // A migration runner any Swift application on PostgreSQL can use.
        .target(
            name: "SQLStoreMigrations",
            dependencies: [
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings + [.enableUpcomingFeature("InternalImportsByDefault")]
        ),
        // What the store and the CLI share beyond migrations: the libpq-style database URL.
        .target(
            name: "SQLStoreSupport",
            dependencies: [
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // The order store: domain types, PostgreSQL access, and the schema's migration files.
        .target(
            name: "SQLStore",
            dependencies: [
                "SQLStoreMigrations",
                "SQLStoreSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // The deadline sweeper's timer, on the event loops the pool already runs on.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Migrations")],
            swiftSettings: swiftSettings
        ),
        // The HTTP API over the store.
        .target(
            name: "SQLStoreHTTP",
            dependencies: [
                "SQLStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Resources/openapi.yaml")],
            swiftSettings: swiftSettings
        ),
        // A project-local PostgreSQL cluster: created, started and stopped on demand.
        .target(
            name: "EmbeddedPostgres",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The `sqlstore` command: a thin layer of argument parsing over the libraries.
        .executableTarget(
            name: "SQLStoreCLI",
            dependencies: [
                "SQLStoreMigrations",
                "SQLStoreSupport",
                "SQLStore",
                "SQLStoreHTTP",
                "EmbeddedPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "SQLStoreMigrations",
                "SQLStoreSupport",
                "SQLStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SQLStoreMigrationsTests",
            dependencies: [
                "SQLStoreMigrations", "TestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SQLStoreTests",
            dependencies: [
                "SQLStore", "SQLStoreMigrations", "TestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SQLStoreHTTPTests",
            dependencies: [
                "SQLStore", "SQLStoreHTTP", "SQLStoreMigrations", "SQLStoreSupport", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SQLStoreCLITests",
            dependencies: ["SQLStoreMigrations", "SQLStore", "TestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
