// swift-tools-version:6.0
import PackageDescription
let package = Package(
    name: "poolrepro",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
    ],
    targets: [
        .executableTarget(name: "PoolRepro", dependencies: [
            .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
            .product(name: "_ConnectionPoolTestUtils", package: "postgres-nio"),
        ], swiftSettings: [.swiftLanguageMode(.v5)]),
    ]
)
