// swift-tools-version:6.0
// Layout and layering: ../shared/DESIGN.md section 1. Each target imports only what is below it.
import PackageDescription

let package = Package(
    name: "clip-server",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "clip-server", targets: ["clip-server"]),
        .library(name: "CLIP", targets: ["CLIP"]),
        .library(name: "SearchIndex", targets: ["SearchIndex"]),
        .library(name: "LibraryStore", targets: ["LibraryStore"]),
        .library(name: "Ingest", targets: ["Ingest"]),
        .library(name: "App", targets: ["App"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.60.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.20.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
    ],
    targets: [
        // MARK: - System libraries (Debian: libopenblas-dev, libjpeg-dev, libpng-dev, zlib1g-dev)
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CJPEG",
            pkgConfig: "libjpeg",
            providers: [.apt(["libjpeg-dev"])]
        ),
        .systemLibrary(
            name: "CPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),

        // MARK: - C image codecs: libjpeg/libpng behind setjmp, so bad bytes return an error code
        .target(
            name: "CImageCodecs",
            dependencies: ["CJPEG", "CPNG"]
        ),

        // MARK: - C kernels for NeuralOps: AVX2+FMA loops chosen at run time (Swift here is baseline x86-64)
        .target(
            name: "CNeuralKernels"
        ),
        // MARK: - C kernels for SearchIndex: int8 row scans and the double re-rank, AVX2+FMA chosen at run time
        .target(
            name: "CSearchKernels"
        ),

        // MARK: - Swift libraries
        // The inference primitives; the only importer of COpenBLAS. Knows nothing of CLIP.
        .target(
            name: "NeuralOps",
            dependencies: ["COpenBLAS", "CNeuralKernels"]
        ),
        .target(
            name: "CLIP",
            dependencies: ["CImageCodecs", "CZlib", "NeuralOps"]
        ),
        // Vector search only: the in-memory vectors of one model, exact top-k over a compact int8
        // matrix with an exact re-rank, and the HNSW graph. No SQL, no files.
        .target(
            name: "SearchIndex",
            dependencies: ["NeuralOps", "CSearchKernels"]
        ),
        // The library's records behind one protocol (`LibraryStore`): SQLite through GRDB with
        // content-addressed originals on disk (the embedded default), or PostgreSQL + pgvector through
        // postgres-nio (several servers, one library). Stores vectors and bytes; computes no embeddings.
        .target(
            name: "LibraryStore",
            dependencies: [
                "SearchIndex",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The one way images enter the library: sniff + hash once, dedup, decode, thumbnail, encode
        // in batches, store. HTTP uploads, `clip-server index` and the demo gallery all use it.
        .target(
            name: "Ingest",
            dependencies: ["CLIP", "LibraryStore"]
        ),
        // HTTP only: routes, limits, error → status mapping, static files, metrics, services (DESIGN.md 3).
        .target(
            name: "App",
            dependencies: [
                "CLIP",
                "NeuralOps",
                "SearchIndex",
                "LibraryStore",
                "Ingest",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // Downloads a model folder from the Hugging Face Hub (resumable, checksum-verified). Not engine
        // code: nothing in CLIP depends on it; only the executable does.
        .target(
            name: "ModelHub",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),

        // MARK: - Executable
        .executableTarget(
            name: "clip-server",
            dependencies: [
                "CLIP",
                "NeuralOps",
                "ModelHub",
                "LibraryStore",
                "Ingest",
                "App",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Search latency harness (bench/search.sh runs it in release); measures, asserts nothing.
        .executableTarget(
            name: "search-bench",
            dependencies: ["SearchIndex", "LibraryStore"],
            path: "bench/SearchBench"
        ),
        // Times VectorIndex.nearDuplicates (GET /duplicates) at 10k and 100k stored vectors (bench/duplicates.sh).
        .executableTarget(
            name: "duplicates-bench",
            dependencies: ["SearchIndex"],
            path: "bench/DuplicatesBench"
        ),
        // Stores N random unit vectors in a library, so /search can be timed at 100k rows without
        // encoding images (bench/search-http.py).
        .executableTarget(
            name: "seed-library",
            dependencies: ["LibraryStore", "NeuralOps", "SearchIndex"],
            path: "bench/SeedLibrary"
        ),

        // MARK: - Tests
        // PNGs made in tests (sizes and chunks no fixture file should hold).
        .target(
            name: "TestImages",
            dependencies: ["CZlib"],
            path: "Tests/TestImages"
        ),
        // A fresh PostgreSQL database per test on the server $CLIP_TEST_POSTGRES_URL names (tools/pg-test-server.sh).
        .target(
            name: "PostgresTestSupport",
            dependencies: [
                "LibraryStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/PostgresTestSupport"
        ),
        .testTarget(
            name: "NeuralOpsTests",
            dependencies: ["NeuralOps"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "CLIPTests",
            dependencies: ["CLIP", "TestImages", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "ModelHubTests",
            dependencies: ["ModelHub"]
        ),
        .testTarget(
            name: "ClipServerTests",
            dependencies: ["clip-server"]
        ),
        .testTarget(
            name: "SearchIndexTests",
            dependencies: ["SearchIndex"]
        ),
        .testTarget(
            name: "LibraryStoreTests",
            dependencies: ["LibraryStore", "SearchIndex", "PostgresTestSupport"]
        ),
        .testTarget(
            name: "IngestTests",
            dependencies: ["Ingest", "LibraryStore", "CLIP", "TestImages"]
        ),
        // Runs the built `clip-server` binary (`swift build` first; `swift test` builds it too).
        .testTarget(
            name: "CLITests",
            dependencies: ["LibraryStore", "CLIP"]
        ),
        .testTarget(
            name: "AppTests",
            dependencies: [
                "App",
                "CLIP",
                "LibraryStore",
                "Ingest",
                "TestImages",
                "PostgresTestSupport",
                // Built so PersistenceTests can start the real `clip-server serve` process.
                "clip-server",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
