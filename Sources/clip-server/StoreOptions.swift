import ArgumentParser
import Foundation
import SearchIndex

/// `--db PATH`, shared by the commands that open the index: falls back to `$CLIP_DB`, then
/// `data/index.sqlite` (DESIGN.md 3). The data folder (uploaded originals) is the database's folder.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "SQLite database (default: $CLIP_DB, then data/index.sqlite); uploads are kept beside it.")
    var db: String?

    static let defaultDatabase = "data/index.sqlite"

    var databaseURL: URL {
        URL(fileURLWithPath: db ?? ProcessInfo.processInfo.environment["CLIP_DB"] ?? Self.defaultDatabase).standardizedFileURL
    }

    var dataDirectory: URL { databaseURL.deletingLastPathComponent() }

    /// Opens the index for `modelName`'s vectors.
    func openIndex(modelName: String, dimension: Int) throws(SearchIndexError) -> ImageIndex {
        try ImageIndex(databasePath: databaseURL.path, dataDirectory: dataDirectory,
                       modelName: modelName, dimension: dimension)
    }
}
