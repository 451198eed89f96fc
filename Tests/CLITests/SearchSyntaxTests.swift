import Foundation
import Testing

/// `clip-server search` with rclip's query syntax, run as the built binary: the combined query's
/// ranking and scores against the same arithmetic done here on `clip-server embed` vectors.
@Suite("search with rclip's query syntax")
struct SearchSyntaxTests {
    typealias CLI = IndexCommandTests

    struct Hit: Decodable { let rank: Int; let score: Float; let id: Int64; let source: String }
    struct Line: Decodable { let embedding: [Float] }

    static func hits(_ run: CLI.Run) throws -> [Hit] {
        #expect(run.status == 0, "stderr: \(run.stderr)")
        return try run.stdout.split(separator: "\n").map { try JSONDecoder().decode(Hit.self, from: Data($0.utf8)) }
    }

    static func unit(_ v: [Double]) -> [Double] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / norm }
    }

    @Test func weightedTextsAndImagesEqualTheirArithmetic() throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLI.binary.path), "build first: swift build")
        let workspace = try CLI.Workspace()
        defer { workspace.cleanup() }
        #expect(try CLI.summary(try CLI.run(["index", "photos"], in: workspace.root))["indexed"] == 6)

        // Every stored image's vector and the query's parts, from `embed`.
        let paths = CLI.imageNames.map(workspace.path(of:))
        let embed = try CLI.run(["embed", "--text", "a red square", "--text", "fruit"] + paths.flatMap { ["--image", $0] }, in: workspace.root)
        #expect(embed.status == 0, "stderr: \(embed.stderr)")
        let vectors = try embed.stdout.split(separator: "\n").map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)).embedding.map(Double.init) }
        let (redSquare, fruit) = (vectors[0], vectors[1])
        let stored = Dictionary(uniqueKeysWithValues: zip(paths, vectors.dropFirst(2)))
        // CLI.imageNames[0] lies in photos/ itself.
        let imagePart = stored[paths[0]]!
        let query = Self.unit((0..<redSquare.count).map { 2 * redSquare[$0] + imagePart[$0] - fruit[$0] })
        let expected = stored.map { path, v in (path: path, score: zip(query, v).reduce(0) { $0 + $1.0 * $1.1 }) }
            .sorted { $0.score > $1.score }

        let relative = "./photos/\(CLI.imageNames[0])"
        let combined = try Self.hits(try CLI.run(["search", "2:a red square", "+", relative, "-", "fruit", "-k", "6", "--json"], in: workspace.root))
        #expect(combined.map(\.source) == expected.map(\.path))
        for (hit, reference) in zip(combined, expected) {
            #expect(abs(Double(hit.score) - reference.score) < 1e-4, "\(hit) vs \(reference)")
        }
        // The same query through rclip's options, and with file:// and an absolute path.
        let options = try Self.hits(try CLI.run(["search", "2:a red square", "-a", "file://" + paths[0], "--sub", "fruit", "-k", "6", "--json"], in: workspace.root))
        #expect(options.map(\.id) == combined.map(\.id))
        for (a, b) in zip(options, combined) { #expect(abs(a.score - b.score) < 1e-5) }

        // A weight scales a part against the others: 0.5 of the text moves the ranking toward the image.
        let half = try Self.hits(try CLI.run(["search", "0.5:a red square", "+", paths[0], "-k", "6", "--json"], in: workspace.root))
        let halfQuery = Self.unit((0..<redSquare.count).map { 0.5 * redSquare[$0] + imagePart[$0] })
        for hit in half {
            let reference = zip(halfQuery, stored[hit.source]!).reduce(0) { $0 + $1.0 * $1.1 }
            #expect(abs(Double(hit.score) - reference) < 1e-4, "\(hit)")
        }
    }

    @Test func whatCannotBeSearchedFailsWithOneLine() throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLI.binary.path), "build first: swift build")
        let workspace = try CLI.Workspace()
        defer { workspace.cleanup() }
        let cases: [([String], String)] = [
            (["https://example.com/dog.jpg"], "image URLs are not downloaded"),
            (["dog", "+", "http://example.com/a.png"], "image URLs are not downloaded"),
            (["./photos/missing.jpg"], "missing.jpg"),
            (["./photos/notes.txt"], "notes.txt"),
            (["dog", "cat"], "put + or - before \"cat\""),
            (["dog", "+"], "must be followed by a query"),
            (["dog", "-", "dog"], "zero vector"),
        ]
        for (query, message) in cases {
            let run = try CLI.run(["search"] + query, in: workspace.root)
            #expect(run.status != 0, "\(query)")
            #expect(run.stderr.contains(message), "\(query): \(run.stderr)")
            #expect(run.stderr.split(separator: "\n").count == 1, "\(query): \(run.stderr)")
            #expect(run.stdout.isEmpty)
        }
    }
}
