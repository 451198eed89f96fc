import ArgumentParser
import Foundation
import LibraryStore

/// `--db PATH`, shared by the commands that open the library: falls back to `$CLIP_DB`, then
/// `data/index.sqlite` (DESIGN.md 3). The data folder (uploaded originals) is the database's folder.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "SQLite database (default: $CLIP_DB, then data/index.sqlite); uploads are kept beside it.")
    var db: String?

    static let defaultDatabase = "data/index.sqlite"

    var databaseURL: URL {
        URL(fileURLWithPath: db ?? ProcessInfo.processInfo.environment["CLIP_DB"] ?? Self.defaultDatabase).standardizedFileURL
    }

    /// Opens the library for `modelName`'s vectors.
    func openLibrary(modelName: String, dimension: Int) throws(LibraryStoreError) -> SQLiteLibrary {
        try SQLiteLibrary(databasePath: databaseURL.path, dataDirectory: databaseURL.deletingLastPathComponent(),
                          modelName: modelName, dimension: dimension)
    }
}
