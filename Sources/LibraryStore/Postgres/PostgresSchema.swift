import Logging
import PostgresNIO

/// The library's tables in PostgreSQL and their migrations: numbered, each applied once in the
/// transaction that records it in `clip_schema_migrations`, under a transaction-level advisory lock,
/// so two servers starting at once on a new database do not both run them (the second waits, then
/// finds them recorded). A new version appends a migration, never edits one.
enum PostgresSchema {
    /// pg_advisory_xact_lock key of the migrations ("clipmigr").
    static let migrationLock: Int64 = 0x636C_6970_6D69_6772
    /// pg_advisory_xact_lock key every write transaction takes first ("clipwrte"): see `PostgresLibrary`.
    static let writeLock: Int64 = 0x636C_6970_7772_7465

    static let migrations: [(version: Int, name: String, statements: [PostgresQuery])] = [
        (1, "images, embeddings (pgvector), thumbnails, originals, vector change log, full text", [
            "CREATE EXTENSION IF NOT EXISTS vector",
            // GENERATED ALWAYS AS IDENTITY: the id of a deleted image is never handed to another one.
            // taken_at: EXIF DateTimeOriginal, else the file's mtime, else the upload time (seconds since 1970).
            // search_text: the words of the path (folders and file name, split on anything not a letter
            // or digit, as SQLite's unicode61 does) and of the keywords, for `hybrid` search.
            """
            CREATE TABLE images (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                sha256 text NOT NULL UNIQUE,
                source text NOT NULL,
                mime text NOT NULL,
                width bigint NOT NULL,
                height bigint NOT NULL,
                byte_size bigint NOT NULL,
                file_mtime double precision,
                stored_path text,
                created_at double precision NOT NULL,
                taken_at double precision NOT NULL,
                keywords text,
                search_text tsvector GENERATED ALWAYS AS (
                    to_tsvector('simple'::regconfig,
                                regexp_replace(source || ' ' || coalesce(keywords, ''), '[^[:alnum:]]+', ' ', 'g'))
                ) STORED
            )
            """,
            "CREATE INDEX images_source ON images (source)",
            "CREATE INDEX images_taken_at ON images (taken_at)",
            "CREATE INDEX images_search_text ON images USING gin (search_text)",
            // vector: pgvector, float4 exactly as given (no halfvec: the search must match SQLite's).
            """
            CREATE TABLE embeddings (
                image_id bigint NOT NULL REFERENCES images (id) ON DELETE CASCADE,
                model text NOT NULL,
                dim integer NOT NULL,
                vector vector NOT NULL CHECK (vector_dims(vector) = dim),
                PRIMARY KEY (image_id, model)
            )
            """,
            "CREATE INDEX embeddings_model ON embeddings (model)",
            "CREATE TABLE thumbnails (image_id bigint PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE, jpeg bytea NOT NULL)",
            // An upload's own copy of its bytes: in the database, so every server can serve it.
            "CREATE TABLE originals (image_id bigint PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE, bytes bytea NOT NULL)",
            // One row per change to `embeddings`, written by a trigger in the changing transaction, so
            // that every server follows the others by sequence number (see PostgresLibrary+Changes).
            """
            CREATE TABLE vector_changes (
                seq bigserial PRIMARY KEY,
                image_id bigint NOT NULL,
                model text NOT NULL,
                changed_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX vector_changes_changed_at ON vector_changes (changed_at)",
            """
            CREATE FUNCTION clip_log_vector_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                -- The write lock orders sequence numbers as commits (PostgresLibrary+Changes); every
                -- writer already holds it, this makes a writer that forgot it wait instead of leaving a gap.
                PERFORM pg_advisory_xact_lock(\(unescaped: String(writeLock)));
                IF TG_OP = 'DELETE' THEN
                    INSERT INTO vector_changes (image_id, model) VALUES (OLD.image_id, OLD.model);
                ELSE
                    INSERT INTO vector_changes (image_id, model) VALUES (NEW.image_id, NEW.model);
                END IF;
                -- Delivered at commit, once per transaction: wakes the other servers' refresh().
                PERFORM pg_notify('clip_vector_changes', '');
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER embeddings_changed AFTER INSERT OR UPDATE OR DELETE ON embeddings
            FOR EACH ROW EXECUTE FUNCTION clip_log_vector_change()
            """,
            // OR of the words' queries, so that one GIN lookup answers a hybrid search.
            "CREATE AGGREGATE clip_tsquery_or (tsquery) (SFUNC = tsquery_or, STYPE = tsquery)",
        ]),
    ]

    /// Applies the migrations this database lacks.
    static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.rows("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await connection.rows("""
                CREATE TABLE IF NOT EXISTS clip_schema_migrations (
                    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
            var applied = Set<Int>()
            for try await version in try await connection.rows("SELECT version FROM clip_schema_migrations", logger: logger)
                .decode(Int.self) { applied.insert(version) }
            for migration in migrations where !applied.contains(migration.version) {
                for statement in migration.statements { try await connection.rows(statement, logger: logger) }
                try await connection.rows("INSERT INTO clip_schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                                           logger: logger)
            }
        }
    }
}
