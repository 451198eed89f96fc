// swift-tools-version:6.0
// libFuzzer targets for what reads untrusted bytes: the JPEG/PNG decoders with EXIF/XMP, the
// tokenizer with its text cleaning, and the JSON and multipart readers of the HTTP layer. A package
// of its own, because a fuzz target has no `main` (libFuzzer brings it). Built and run by
// `make fuzz` (tools/fuzz.sh); each target's seed corpus is in Fuzz/Corpus/<target>/.
import PackageDescription

let package = Package(
    name: "clip-server-fuzz",
    dependencies: [.package(name: "clip-server", path: "..")],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(name: "FuzzImageDecoder", dependencies: ["FuzzDriver", .product(name: "CLIP", package: "clip-server")]),
        .executableTarget(name: "FuzzTokenizer", dependencies: ["FuzzDriver", .product(name: "CLIP", package: "clip-server")]),
        .executableTarget(name: "FuzzJSON", dependencies: ["FuzzDriver", .product(name: "App", package: "clip-server")]),
        .executableTarget(name: "FuzzMultipart", dependencies: ["FuzzDriver", .product(name: "App", package: "clip-server")]),
    ]
)
