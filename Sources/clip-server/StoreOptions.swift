import ArgumentParser
import Foundation
import LibraryStore

/// `--db PATH|URL`, shared by the commands that open the library: falls back to `$CLIP_DB`, then
/// `data/index.sqlite` (DESIGN.md 3). A path is SQLite, with uploads kept in the database's folder;
/// a `postgres://` or `postgresql://` URL (libpq style, `?host=/socket/dir` included) is PostgreSQL
/// with pgvector, where rows, vectors, thumbnails and originals all live.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: """
        SQLite database file, or a postgres:// / postgresql:// URL (default: $CLIP_DB, then data/index.sqlite). \
        SQLite keeps uploads beside the file; PostgreSQL keeps everything in the database.
        """)
    var db: String?

    static let defaultDatabase = "data/index.sqlite"

    /// What `--db` (or `$CLIP_DB`) says, or the default.
    var location: String {
        db ?? ProcessInfo.processInfo.environment["CLIP_DB"] ?? Self.defaultDatabase
    }

    var isPostgres: Bool { PostgresURL.isPostgres(location) }

    /// The SQLite file; for PostgreSQL, a local stand-in (`data/postgres`) beside which this machine
    /// keeps its own markers (the demo gallery's).
    var databaseURL: URL {
        URL(fileURLWithPath: isPostgres ? "data/postgres" : location).standardizedFileURL
    }

    /// For messages: the file's path, or the URL without its password.
    var displayName: String {
        guard isPostgres else { return databaseURL.path }
        return (try? PostgresURL(location).redacted) ?? "PostgreSQL"
    }

    /// Opens the library for `modelName`'s vectors.
    func openLibrary(modelName: String, dimension: Int) throws(LibraryStoreError) -> any LibraryStore {
        if isPostgres {
            return try PostgresLibrary(url: location, modelName: modelName, dimension: dimension)
        }
        return try SQLiteLibrary(databasePath: databaseURL.path, dataDirectory: databaseURL.deletingLastPathComponent(),
                                 modelName: modelName, dimension: dimension)
    }
}
