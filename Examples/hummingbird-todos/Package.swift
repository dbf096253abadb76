// swift-tools-version:6.1
import PackageDescription

// A Hummingbird application that owns its schema: SQLStoreMigrations applies its migrations as a
// service of the application's service group before the server answers a request.
let package = Package(
    name: "hummingbird-todos",
    platforms: [.macOS(.v15)],
    dependencies: [
        // The migrations library, by path: this example builds against the code beside it.
        .package(name: "sqlstore", path: "../.."),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "Todos",
            dependencies: [
                .product(name: "SQLStoreMigrations", package: "sqlstore"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Migrations")],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        )
    ]
)
