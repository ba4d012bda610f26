// swift-tools-version:6.0
// SehatSync: an offline-first FHIR R4 sync SDK. No package dependencies; the one native
// library is the system libsqlite3 (Debian: libsqlite3-dev).
import PackageDescription

let package = Package(
    name: "SehatSync",
    products: [
        .library(name: "SehatSync", targets: ["SehatSync"]),
        .library(name: "SehatSandbox", targets: ["SehatSandbox"]),
        .executable(name: "sehat", targets: ["sehat"]),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(name: "SehatStore", dependencies: ["CSQLite"]),
        .target(name: "SehatFHIR"),
        .target(name: "SehatSync", dependencies: ["SehatStore", "SehatFHIR"]),
        .target(name: "SehatSandbox", dependencies: ["SehatStore", "SehatFHIR"]),
        .executableTarget(name: "sehat", dependencies: ["SehatSync", "SehatSandbox"], path: "HostCLI"),
        .testTarget(name: "SehatStoreTests", dependencies: ["SehatStore", "CSQLite"]),
        .testTarget(name: "SehatFHIRTests", dependencies: ["SehatFHIR"]),
        .testTarget(name: "SehatSyncTests", dependencies: ["SehatSync", "SehatStore", "SehatFHIR", "SehatSandbox"]),
        .testTarget(name: "SehatSandboxTests", dependencies: ["SehatSandbox", "SehatFHIR"]),
        .testTarget(name: "HostCLITests", dependencies: ["sehat", "SehatStore", "SehatSandbox", "SehatFHIR"]),
    ],
    swiftLanguageModes: [.v6]
)
