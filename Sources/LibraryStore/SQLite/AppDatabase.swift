import GRDB

/// The database schema, as ordered migrations: a new version adds a migration, never edits one.
enum Schema {
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
