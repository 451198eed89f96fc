import ArgumentParser
import CLIP
import Foundation
import LibraryStore
import NeuralOps

/// `clip-server search --model DIR --db PATH "text" [-k 10] [--json]` (DESIGN.md 3): the best matches
/// for a text, as a table (rank, score, id, source) or one JSON object per line. The query may be
/// rclip's combination of weighted texts and images (`QuerySyntax`): `"2:dog" + ./a.jpg - fruit`.
struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search the indexed images with a text query, or texts and images combined.",
        discussion: """
            As rclip: queries joined by + and - ("2:golden retriever" + ./pool.jpg - fruit); N: weights a \
            query; an argument starting with /, ./ or file:// is an image file, anything else a text. \
            The query vector is the weighted sum of the parts' unit vectors, renormalized. Image URLs \
            are refused (this command does not download).
            """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .short, help: "Number of results (1...1000).")
    var k = 10

    @Flag(name: .long, help: #"One JSON object per line: {"rank","score","id","source"}."#)
    var json = false

    @Option(name: [.customLong("add"), .customShort("a")], help: "A query to add (repeatable), as after +.")
    var add: [String] = []

    @Option(name: [.customLong("subtract"), .customLong("sub"), .customShort("s")], help: "A query to subtract (repeatable), as after -.")
    var subtract: [String] = []

    @Argument(help: #"The query: a text, or texts and images joined by + and - ("2:dog" + ./a.jpg - fruit)."#)
    var query: [String] = []

    func validate() throws {
        guard (1...1000).contains(k) else { throw ValidationError("-k must be between 1 and 1000, got \(k)") }
    }

    func run() throws {
        let parts: [QuerySyntax.Part]
        do {
            parts = try QuerySyntax.parse(query, added: add, subtracted: subtract)
        } catch {
            exitWithMessage("search", "\(error)")
        }
        if case .url(let url)? = parts.lazy.map(\.source).first(where: { if case .url = $0 { true } else { false } }) {
            exitWithMessage("search", "\(url): image URLs are not downloaded (clip-server works offline); save the image and give its path, e.g. ./photo.jpg")
        }
        // Decode first: a bad image is reported before the model is loaded.
        let images = parts.compactMap { part -> (path: String, weight: Float)? in
            if case .image(let path) = part.source { (path, part.weight) } else { nil }
        }
        var decoded: [RGBImage] = []
        for image in images {
            do {
                decoded.append(try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: image.path)))
            } catch {
                if case .unreadableFile = error { exitWithMessage("search", "\(error)") }
                exitWithMessage("search", "\(image.path): \(error)")
            }
        }
        let encoder: CLIPEncoder
        let store: any LibraryStore
        do {
            encoder = try modelOptions.loadEncoder()
            store = try storeOptions.openLibrary(modelName: encoder.name, dimension: encoder.dimension)
        } catch {
            exitWithMessage("search", "\(error)")
        }
        let texts = parts.compactMap { part -> (text: String, weight: Float)? in
            if case .text(let text) = part.source { (text, part.weight) } else { nil }
        }
        let textVectors = texts.isEmpty ? [] : encoder.encode(texts: texts.map(\.text))
        let imageVectors = decoded.isEmpty ? [] : encoder.encode(images: decoded)
        let weighted = Array(zip(textVectors, texts.map(\.weight))) + Array(zip(imageVectors, images.map(\.weight)))
        guard let queryVector = Self.combined(weighted.map { (vector: $0.0, weight: $0.1) }) else {
            exitWithMessage("search", "the combined query is the zero vector (its parts cancel out)")
        }
        let hits: [SearchHit]
        do {
            hits = try store.search(queryVector, k: k).hits
        } catch {
            exitWithMessage("search", "\(error)")
        }
        if json {
            try printJSONLines(hits.enumerated().map { rank, hit in
                Line(rank: rank + 1, score: hit.score, id: hit.image.id, source: hit.image.source)
            })
            return
        }
        var table = "rank   score      id  source\n"
        for (rank, hit) in hits.enumerated() {
            table += String(format: "%4d  %6.4f  %6lld  ", rank + 1, hit.score, hit.image.id) + hit.image.source + "\n"
        }
        if hits.isEmpty { table += "(no images indexed for model \(encoder.name))\n" }
        writeStandardOutput(table)
    }

    /// Σ weight × unit vector, renormalized (as `POST /search` combines `queries`); nil when that is
    /// (numerically) zero. One part of weight 1 is its own vector unchanged.
    static func combined(_ parts: [(vector: [Float], weight: Float)]) -> [Float]? {
        if parts.count == 1 && parts[0].weight == 1 { return parts[0].vector }
        guard let dimension = parts.first?.vector.count else { return nil }
        var sum = [Float](repeating: 0, count: dimension)
        for (vector, weight) in parts { for i in sum.indices { sum[i] += weight * vector[i] } }
        guard sum.reduce(Float(0), { $0 + $1 * $1 }) > 1e-12 else { return nil }
        return l2Normalized(sum)
    }

    /// One result of `--json`.
    struct Line: Encodable {
        let rank: Int
        let score: Float
        let id: Int64
        let source: String
    }
}
