import Foundation
import GRDB

/// The SQLite database of a library (GRDB's AppDatabase shape): opens the pool with the settings
/// the store's guarantees need and owns the migrator. WAL with `synchronous=FULL`, so a commit
/// that returned survives power loss, not only a crash of the process.
struct AppDatabase: Sendable {
    let pool: DatabasePool

    init(path: String) throws(LibraryStoreError) {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        // Another process (`clip-server index` beside a running server) may hold the write lock.
        configuration.busyMode = .timeout(10)
        let pool = try wrapDatabase("opening \(path)") { try DatabasePool(path: path, configuration: configuration) }
        // GRDB sets the writer of a WAL pool to synchronous=NORMAL (durable across a crash of the
        // process, not of the machine); the pool has one writer connection, so this holds for it.
        try wrapDatabase("setting synchronous=FULL on \(path)") {
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        }
        try wrapDatabase("migrating \(path)") { try Self.migrator.migrate(pool) }
        self.pool = pool
    }

    /// Ordered migrations: a new version adds a migration, never edits one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: images, embeddings, thumbnails") { db in
            // AUTOINCREMENT: the id of a deleted image is never handed to another one, so an old
            // /images/{id} link cannot show a different picture.
            try db.execute(sql: """
                CREATE TABLE images (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    sha256 TEXT NOT NULL UNIQUE,
                    source TEXT NOT NULL,
                    mime TEXT NOT NULL,
                    width INTEGER NOT NULL,
                    height INTEGER NOT NULL,
                    byte_size INTEGER NOT NULL,
                    file_mtime REAL,
                    stored_path TEXT,
                    created_at REAL NOT NULL
                );
                CREATE INDEX images_source ON images(source);
                CREATE TABLE embeddings (
                    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
                    model TEXT NOT NULL,
                    dim INTEGER NOT NULL,
                    vector BLOB NOT NULL,
                    PRIMARY KEY (image_id, model)
                );
                CREATE INDEX embeddings_model ON embeddings(model);
                CREATE TABLE thumbnails (
                    image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
                    jpeg BLOB NOT NULL
                );
                """)
        }
        return migrator
    }
}

/// Runs GRDB work, turning its errors into `LibraryStoreError.database` (our own errors pass through).
func wrapDatabase<T>(_ context: @autoclosure () -> String, _ body: () throws -> T) throws(LibraryStoreError) -> T {
    do {
        return try body()
    } catch let error as LibraryStoreError {
        throw error
    } catch {
        throw .database(context: context(), message: "\(error)")
    }
}
