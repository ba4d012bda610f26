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
        // Small pieces any layer may use (a lock).
        .target(name: "SehatSupport"),
        // The lossless JSON value, its parser and writer.
        .target(name: "SehatJSON"),
        .target(name: "SehatStore", dependencies: ["CSQLite", "SehatSupport"]),
        .target(name: "SehatFHIR", dependencies: ["SehatJSON"]),
        .target(name: "SehatSync", dependencies: ["SehatStore", "SehatFHIR", "SehatJSON", "SehatSupport"]),
        // The judge: its SATUSEHAT rules are its own, so it shares no validation with the SDK.
        // It keeps resources in memory, or in a scratch SQLite file through the store's thin
        // wrapper (storage, not rules).
        .target(name: "SehatSandbox", dependencies: ["SehatJSON", "SehatSupport", "SehatStore"]),
        // Benchmarks and the sample clinic: tooling beside the library, not in it.
        .target(name: "SehatBench", dependencies: ["SehatSync", "SehatStore", "SehatFHIR", "SehatJSON", "SehatSupport", "SehatSandbox"]),
        .executableTarget(name: "sehat", dependencies: ["SehatSync", "SehatSandbox", "SehatBench", "SehatJSON", "SehatSupport"], path: "HostCLI"),
        .testTarget(name: "SehatStoreTests", dependencies: ["SehatStore", "CSQLite", "SehatSupport"]),
        .testTarget(name: "SehatFHIRTests", dependencies: ["SehatFHIR", "SehatJSON"]),
        .testTarget(name: "SehatSyncTests", dependencies: ["SehatSync", "SehatStore", "SehatFHIR", "SehatJSON", "SehatSupport", "SehatSandbox", "SehatBench"]),
        .testTarget(name: "SehatSandboxTests", dependencies: ["SehatSandbox", "SehatJSON", "SehatSupport", "SehatFHIR"]),
        .testTarget(name: "HostCLITests", dependencies: ["sehat", "SehatStore", "CSQLite", "SehatSandbox", "SehatJSON", "SehatSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

// The libFuzzer harnesses (Tests/Fuzz), only when asked for: SEHAT_FUZZ_RUNTIME names the
// toolchain's libclang_rt.fuzzer_no_main archive, as Tests/run-fuzzers.sh sets it (and
// instruments every module for coverage). A plain `swift build` or `swift test` never sees
// this target, so it links without libFuzzer.
if let runtime = Context.environment["SEHAT_FUZZ_RUNTIME"] {
    package.targets.append(.executableTarget(
        name: "sehat-fuzz", dependencies: ["SehatJSON", "SehatFHIR", "SehatSync", "SehatSandbox"], path: "Tests/Fuzz",
        linkerSettings: [.unsafeFlags([runtime, "-lstdc++"])]))
}
