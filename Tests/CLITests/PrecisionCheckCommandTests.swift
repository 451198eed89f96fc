import Foundation
import Testing

/// `clip-server precision-check` run as the built binary on the tiny test model, whose weights are
/// fp16 values: f16 must give f32's embeddings exactly, int8 close to them but not the same, and bad
/// input one line on stderr and a failing exit.
@Suite("precision-check command")
struct PrecisionCheckCommandTests {
    typealias CLI = IndexCommandTests

    struct Report: Decodable, Equatable {
        let precision: String
        let images: Int
        let min_cosine: Double
        let mean_cosine: Double
    }

    static let images = ["jpeg-baseline-landscape-640x480.jpg", "png-rgba-300x200.png", "jpeg-exif6-400x300.jpg"]
        .map { CLI.fixtureImages.appendingPathComponent($0).path }

    static func report(_ precision: String) throws -> Report {
        let run = try CLI.run(["precision-check", "--precision", precision] + images, in: CLI.packageRoot)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.count == 1, "one JSON object: \(run.stdout)")
        return try JSONDecoder().decode(Report.self, from: Data(try #require(lines.first).utf8))
    }

    @Test func f16IsExactAndInt8IsCloseOnFp16Weights() throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLI.binary.path), "build first: swift build")
        let half = try Self.report("f16")
        #expect(half == Report(precision: "f16", images: 3, min_cosine: 1, mean_cosine: 1))
        let int8 = try Self.report("int8")
        #expect(int8.precision == "int8" && int8.images == 3)
        #expect(int8.min_cosine > 0.99 && int8.min_cosine < 1, "int8 is lossy, and close: \(int8)")
        #expect(int8.min_cosine <= int8.mean_cosine && int8.mean_cosine < 1, "\(int8)")
    }

    @Test func badInputFailsWithOneLine() throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLI.binary.path), "build first: swift build")
        let notImage = CLI.fixtureImages.appendingPathComponent("manifest.json").path
        let bad = try CLI.run(["precision-check", "--precision", "int8", Self.images[0], notImage], in: CLI.packageRoot)
        #expect(bad.status != 0 && bad.stdout.isEmpty)
        #expect(bad.stderr.split(separator: "\n").count == 1 && bad.stderr.contains(notImage), "\(bad.stderr)")
        let none = try CLI.run(["precision-check", "--precision", "int8"], in: CLI.packageRoot)
        #expect(none.status != 0 && none.stdout.isEmpty && none.stderr.contains("give at least one image"), "\(none.stderr)")
    }
}
