// swift-tools-version:6.1
import PackageDescription

// Reproduces PostgresNIO 1.33.2's pool queueing requests while it holds idle connections, after a
// connection attempt failed (docs/store.md#several-instances). The pool is PostgresNIO's own.
let package = Package(
    name: "pool-stall-repro",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
    ],
    targets: [
        .executableTarget(
            name: "PoolStall",
            dependencies: [.product(name: "_ConnectionPoolModule", package: "postgres-nio")],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
    ]
)
