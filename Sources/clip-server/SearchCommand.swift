import ArgumentParser
import CLIP
import Foundation
import LibraryStore

/// `clip-server search --model DIR --db PATH "text" [-k 10] [--json]` (DESIGN.md 3): the best matches
/// for a text, as a table (rank, score, id, source) or one JSON object per line.
struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search the indexed images with a text query."
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .short, help: "Number of results (1...1000).")
    var k = 10

    @Flag(name: .long, help: #"One JSON object per line: {"rank","score","id","source"}."#)
    var json = false

    @Argument(help: "The text to search for.")
    var text: String

    func validate() throws {
        guard (1...1000).contains(k) else { throw ValidationError("-k must be between 1 and 1000, got \(k)") }
    }

    func run() throws {
        let encoder: CLIPEncoder
        let store: SQLiteLibrary
        do {
            encoder = try modelOptions.loadEncoder()
            store = try storeOptions.openLibrary(modelName: encoder.name, dimension: encoder.dimension)
        } catch {
            exitWithMessage("search", "\(error)")
        }
        let query = encoder.encode(texts: [text])[0]
        let hits: [SearchHit]
        do {
            hits = try store.search(query, k: k).hits
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

    /// One result of `--json`.
    struct Line: Encodable {
        let rank: Int
        let score: Float
        let id: Int64
        let source: String
    }
}
