import Foundation
import Logging
import PostgresNIO
import SearchIndex

/// Writes: each one transaction that first takes the library's write lock (see
/// PostgresLibrary+Changes for why), catches up with the other servers, runs its body and commits
/// before the call returns (an acknowledged upload is durable: PostgreSQL's commit is). Then, still
/// in this process's order, its vector changes go into `vectors`.
extension PostgresLibrary {
    /// Vector changes of one transaction, in order (a row removed then re-added, or the reverse,
    /// ends up right): the SQLite store's record of them; its file list stays empty here.
    typealias PendingChanges = SQLiteLibrary.AfterCommit

    func serializedWrite<T: Sendable>(_ context: @autoclosure () -> String,
                                      _ body: @escaping @Sendable (PostgresConnection, inout PendingChanges) async throws -> T)
        throws(LibraryStoreError) -> T {
        let client = client, logger = logger
        return try applying.withLock { _ throws(LibraryStoreError) -> T in
            let since = followed.withLock { $0 }
            let outcome: (result: T, external: [VectorChange], own: [VectorChange], latest: Int64)
            do {
                outcome = try bridge.wait(timeout: Self.queryTimeout) {
                    try await client.withTransaction(logger: logger) { db in
                        try await db.rows("SELECT pg_advisory_xact_lock(\(PostgresSchema.writeLock))", logger: logger)
                        // The write lock is held: nothing commits between this catch-up and the body.
                        let external = try await self.catchUp(db, since: since).changes
                        var pending = PendingChanges()
                        let result = try await body(db, &pending)
                        try await self.pruneChangeLogHourly(db)
                        let latest = max(since, try await Self.latestChange(db, logger: logger))
                        return (result, external, pending.changes, latest)
                    }
                }
            } catch {
                throw Self.wrap(error, context())
            }
            vectors.apply(outcome.external + outcome.own)
            followed.withLock { $0 = outcome.latest }
            return outcome.result
        }
    }

    // MARK: - Uploads

    public func addUpload(_ upload: NewUpload) throws(LibraryStoreError) -> (image: StoredImage, duplicate: Bool) {
        let vector = try unitVector(upload.embedding, what: "embedding of \(upload.name)")
        let sha256 = upload.original.sha256
        // Names the upload's own copy, which lives in `originals` (as SQLite's store names its file).
        let stored = OriginalStore.relativePath(sha256: sha256)
        let bytes = Data(upload.original.bytes)
        let result = try serializedWrite("storing upload \(upload.name)") { db, pending in
            if let existing = try await Self.image(sha256: sha256, db, logger: self.logger, lock: true) {
                try await self.completeExisting(db, existing, vector: vector, thumbnailJPEG: upload.thumbnailJPEG, pending: &pending)
                guard existing.storedPath == nil else { return (existing, true) }
                // A file indexed in place with these bytes: the upload keeps its own copy, so
                // removing that file later cannot lose what was acknowledged here.
                try await self.putOriginal(db, id: existing.id, bytes: bytes)
                let updated = try await PostgresRows.images(db.rows("""
                    UPDATE images SET stored_path = \(stored) WHERE id = \(existing.id) RETURNING \(unescaped: PostgresRows.imageColumns)
                    """, logger: self.logger))
                return (updated.first ?? existing, true)
            }
            let now = Date().timeIntervalSince1970
            // ON CONFLICT: the write lock already orders uploads of the same bytes; this keeps one row
            // per sha256 even for a writer that does not take it.
            let inserted = try await PostgresRows.images(db.rows("""
                INSERT INTO images (sha256, source, mime, width, height, byte_size, file_mtime, stored_path, created_at, taken_at, keywords)
                VALUES (\(sha256), \(upload.name), \(upload.mime), \(Int64(upload.width)), \(Int64(upload.height)),
                        \(Int64(bytes.count)), NULL, \(stored), \(now), \(upload.takenAt?.timeIntervalSince1970 ?? now),
                        \(Self.keywordsColumn(upload.keywords)))
                ON CONFLICT (sha256) DO NOTHING
                RETURNING \(unescaped: PostgresRows.imageColumns)
                """, logger: self.logger))
            guard let image = inserted.first else {
                throw LibraryStoreError.database(context: "storing upload \(upload.name)", message: "a concurrent writer stored the same bytes")
            }
            try await self.putOriginal(db, id: image.id, bytes: bytes)
            try await self.putThumbnail(db, id: image.id, jpeg: upload.thumbnailJPEG)
            try await self.putEmbedding(db, id: image.id, vector: vector, pending: &pending)
            return (image, false)
        }
        return (result.0, result.1)
    }

    // MARK: - Vectors and removal

    public func setEmbedding(id: Int64, embedding: [Float]) throws(LibraryStoreError) {
        let vector = try unitVector(embedding, what: "embedding of image \(id)")
        try serializedWrite("storing the embedding of image \(id)") { db, pending in
            let exists = try await db.rows("SELECT 1 FROM images WHERE id = \(id)", logger: self.logger).decode(Int.self).array()
            guard !exists.isEmpty else { throw LibraryStoreError.unknownImage(id: id) }
            try await self.putEmbedding(db, id: id, vector: vector, pending: &pending)
        }
    }

    public func delete(id: Int64) throws(LibraryStoreError) -> Bool {
        try serializedWrite("deleting image \(id)") { db, pending in
            try await self.deleteRow(db, id: id, pending: &pending)
        }
    }

    // MARK: - Helpers

    /// Keywords as stored: one per line, as SQLite's store keeps them.
    static func keywordsColumn(_ keywords: [String]) -> String? { SQLiteLibrary.keywordsColumn(keywords) }

    func unitVector(_ embedding: [Float], what: String) throws(LibraryStoreError) -> [Float] {
        do {
            return try vectors.unitVector(embedding, what: what)
        } catch {
            throw .vector(error)
        }
    }

    /// Removes a row; its vectors, thumbnail and original cascade. False when there was none.
    func deleteRow(_ db: PostgresConnection, id: Int64, pending: inout PendingChanges) async throws -> Bool {
        let gone = try await db.rows("DELETE FROM images WHERE id = \(id) RETURNING id", logger: logger).decode(Int64.self).array()
        guard !gone.isEmpty else { return false }
        pending.remove(id)
        return true
    }

    /// Float32 as given, through real[] (exact), into pgvector.
    func putEmbedding(_ db: PostgresConnection, id: Int64, vector: [Float], pending: inout PendingChanges) async throws {
        try await db.rows("""
            INSERT INTO embeddings (image_id, model, dim, vector) VALUES (\(id), \(modelName), \(vector.count), \(vector)::real[]::vector)
            ON CONFLICT (image_id, model) DO UPDATE SET dim = EXCLUDED.dim, vector = EXCLUDED.vector
            """, logger: logger)
        pending.upsert(id, vector)
    }

    func putThumbnail(_ db: PostgresConnection, id: Int64, jpeg: [UInt8]) async throws {
        guard !jpeg.isEmpty else { return }
        try await db.rows("""
            INSERT INTO thumbnails (image_id, jpeg) VALUES (\(id), \(Data(jpeg))) ON CONFLICT (image_id) DO UPDATE SET jpeg = EXCLUDED.jpeg
            """, logger: logger)
    }

    func putOriginal(_ db: PostgresConnection, id: Int64, bytes: Data) async throws {
        try await db.rows("INSERT INTO originals (image_id, bytes) VALUES (\(id), \(bytes)) ON CONFLICT (image_id) DO NOTHING",
                           logger: logger)
    }

    /// Whether the database holds a vector of this model for `id` (written by any server).
    func hasStoredVector(_ db: PostgresConnection, id: Int64) async throws -> Bool {
        try await !db.rows("SELECT 1 FROM embeddings WHERE image_id = \(id) AND model = \(modelName)", logger: logger)
            .decode(Int.self).array().isEmpty
    }

    /// An existing row met again: give it this model's vector and a thumbnail if it lacks them.
    func completeExisting(_ db: PostgresConnection, _ existing: StoredImage, vector: [Float], thumbnailJPEG: [UInt8],
                          pending: inout PendingChanges) async throws {
        if !thumbnailJPEG.isEmpty {
            try await db.rows("INSERT INTO thumbnails (image_id, jpeg) VALUES (\(existing.id), \(Data(thumbnailJPEG))) ON CONFLICT DO NOTHING",
                               logger: logger)
        }
        if !pending.upserted(existing.id), try await !hasStoredVector(db, id: existing.id) {
            try await putEmbedding(db, id: existing.id, vector: vector, pending: &pending)
        }
    }
}
