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
        // A 128 MB page cache on the writer (SQLite's default is 2 MB): the images' sha256 index and
        // the full-text index take random inserts, and at a million rows they no longer fit 2 MB.
        try wrapDatabase("setting synchronous=FULL on \(path)") {
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL; PRAGMA cache_size = -131072") }
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
        migrator.registerMigration("v2: taken_at, vector change log") { db in
            // taken_at: EXIF DateTimeOriginal, else the file's mtime, else the upload time (seconds
            // since 1970). NULL on rows stored before v2: reads fall back in the same order.
            // vector_changes: one row per change to `embeddings`, written by triggers, so that every
            // process on this database (a CLI `index`, a second server) follows the others' writes
            // by sequence number instead of reloading every vector. Pruned after a day.
            try db.execute(sql: """
                ALTER TABLE images ADD COLUMN taken_at REAL;
                CREATE INDEX images_taken_at ON images(COALESCE(taken_at, file_mtime, created_at));
                CREATE TABLE vector_changes (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    image_id INTEGER NOT NULL,
                    model TEXT NOT NULL,
                    changed_at REAL NOT NULL
                );
                CREATE TRIGGER embeddings_inserted AFTER INSERT ON embeddings BEGIN
                    INSERT INTO vector_changes (image_id, model, changed_at)
                    VALUES (NEW.image_id, NEW.model, (julianday('now') - 2440587.5) * 86400.0);
                END;
                CREATE TRIGGER embeddings_updated AFTER UPDATE ON embeddings BEGIN
                    INSERT INTO vector_changes (image_id, model, changed_at)
                    VALUES (NEW.image_id, NEW.model, (julianday('now') - 2440587.5) * 86400.0);
                END;
                CREATE TRIGGER embeddings_deleted AFTER DELETE ON embeddings BEGIN
                    INSERT INTO vector_changes (image_id, model, changed_at)
                    VALUES (OLD.image_id, OLD.model, (julianday('now') - 2440587.5) * 86400.0);
                END;
                """)
        }
        migrator.registerMigration("v3: keywords, full-text search of names and keywords") { db in
            // image_text: the words of each image's path (folders and file name: unicode61 splits
            // on "/", "_", "-", ".") and of its keywords (XMP dc:subject), for `hybrid` search; kept
            // in step with `images` by triggers, so every writer (any process) maintains it.
            try db.execute(sql: """
                ALTER TABLE images ADD COLUMN keywords TEXT;
                CREATE VIRTUAL TABLE image_text USING fts5(names, keywords, tokenize = 'unicode61 remove_diacritics 2');
                INSERT INTO image_text (rowid, names, keywords) SELECT id, source, '' FROM images;
                CREATE TRIGGER images_text_inserted AFTER INSERT ON images BEGIN
                    INSERT INTO image_text (rowid, names, keywords) VALUES (NEW.id, NEW.source, COALESCE(NEW.keywords, ''));
                END;
                CREATE TRIGGER images_text_updated AFTER UPDATE OF source, keywords ON images BEGIN
                    DELETE FROM image_text WHERE rowid = OLD.id;
                    INSERT INTO image_text (rowid, names, keywords) VALUES (NEW.id, NEW.source, COALESCE(NEW.keywords, ''));
                END;
                CREATE TRIGGER images_text_deleted AFTER DELETE ON images BEGIN
                    DELETE FROM image_text WHERE rowid = OLD.id;
                END;
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
