import Foundation
import GRDB
import SearchIndex

/// Writes: each one IMMEDIATE transaction on the serialized writer (which also takes SQLite's write
/// lock against other processes), then, still serialized, its vector changes in commit order.
extension SQLiteLibrary {
    /// What to do once a transaction has committed.
    struct AfterCommit {
        /// Other processes' changes committed before this transaction, then ours.
        var external: [VectorChange] = []
        var latest: Int64 = 0
        /// In transaction order: a row removed then re-added (or the reverse) ends up right.
        var changes: [VectorChange] = []
        var filesToRemove: [String] = []

        mutating func upsert(_ id: Int64, _ vector: [Float]) { changes.append(.upsert(id: id, vector: vector)) }
        mutating func remove(_ id: Int64) { changes.append(.remove(id: id)) }

        /// Whether this transaction already gave `id` a vector (and did not remove it since).
        func upserted(_ id: Int64) -> Bool {
            for change in changes.reversed() {
                switch change {
                case .upsert(let other, _) where other == id: return true
                case .remove(let other) where other == id: return false
                default: continue
                }
            }
            return false
        }
    }

    func serializedWrite<T>(_ context: @autoclosure () -> String,
                            _ body: (Database, inout AfterCommit) throws -> T) throws(LibraryStoreError) -> T {
        try wrapDatabase(context()) {
            try database.pool.writeWithoutTransaction { db in
                var after = AfterCommit()
                var result: T?
                try db.inTransaction(.immediate) {
                    after = AfterCommit()
                    // The write lock is held: nothing commits between this catch-up and the body.
                    after.external = try catchUp(db).changes
                    result = try body(db, &after)
                    try pruneChangeLogHourly(db)
                    after.latest = try Self.latestChange(db)
                    return .commit
                }
                vectors.apply(after.external + after.changes)
                followed.withLock { $0 = after.latest }
                noteApplied(after.external.count + after.changes.count)
                // The rows are gone: a failure here leaves an orphan file, never a dangling row.
                for path in after.filesToRemove { try? originals.remove(relativePath: path) }
                return result!
            }
        }
    }

    // MARK: - Uploads

    public func addUpload(_ upload: NewUpload) throws(LibraryStoreError) -> (image: StoredImage, duplicate: Bool) {
        let vector = try unitVector(upload.embedding, what: "embedding of \(upload.name)")
        let sha256 = upload.original.sha256
        let relative = OriginalStore.relativePath(sha256: sha256)
        // Durable before the row exists, and outside the write lock (the fsync is the slow part).
        // Content-addressed: the same bytes always land in the same file, so writing them again is harmless.
        if !originals.exists(relativePath: relative) {
            try originals.write(upload.original.bytes, relativePath: relative)
        }
        return try serializedWrite("storing upload \(upload.name)") { db, after in
            // The orphan sweep (this process or another) may have removed the file before we held the lock.
            if !originals.exists(relativePath: relative) { try originals.write(upload.original.bytes, relativePath: relative) }
            if var existing = try ImageRecord.withSHA256(sha256).fetchOne(db) {
                try completeExisting(db, existing.image, vector: vector, thumbnailJPEG: upload.thumbnailJPEG, after: &after)
                if existing.storedPath == nil {
                    // A file indexed in place with these bytes: the upload keeps its own copy, so
                    // removing that file later cannot lose what was acknowledged here.
                    existing.storedPath = relative
                    try existing.update(db)
                }
                return (existing.image, true)
            }
            let now = Date().timeIntervalSince1970
            var record = ImageRecord(id: nil, sha256: sha256, source: upload.name, mime: upload.mime,
                                     width: upload.width, height: upload.height, byteSize: upload.original.bytes.count,
                                     fileMtime: nil, storedPath: relative, createdAt: now,
                                     takenAt: upload.takenAt?.timeIntervalSince1970 ?? now,
                                     keywords: Self.keywordsColumn(upload.keywords))
            try record.insert(db)
            let image = record.image
            try putEmbedding(db, id: image.id, vector: vector, after: &after)
            try putThumbnail(db, id: image.id, jpeg: upload.thumbnailJPEG)
            return (image, false)
        }
    }

    // MARK: - Vectors and removal

    public func setEmbedding(id: Int64, embedding: [Float]) throws(LibraryStoreError) {
        let vector = try unitVector(embedding, what: "embedding of image \(id)")
        try serializedWrite("storing the embedding of image \(id)") { db, after in
            guard try ImageRecord.exists(db, key: id) else { throw LibraryStoreError.unknownImage(id: id) }
            try putEmbedding(db, id: id, vector: vector, after: &after)
        }
    }

    public func delete(id: Int64) throws(LibraryStoreError) -> Bool {
        try serializedWrite("deleting image \(id)") { db, after in
            guard let record = try ImageRecord.fetchOne(db, key: id) else { return false }
            try deleteRow(db, record, after: &after)
            return true
        }
    }

    // MARK: - Helpers

    /// Keywords as stored: one per line (a keyword never holds a line break here).
    static func keywordsColumn(_ keywords: [String]) -> String? {
        let clean = keywords.map { $0.split(whereSeparator: \.isNewline).joined(separator: " ") }.filter { !$0.isEmpty }
        return clean.isEmpty ? nil : clean.joined(separator: "\n")
    }

    private func pruneChangeLogHourly(_ db: Database) throws {
        let now = Date()
        guard now.timeIntervalSince(lastLogPrune.withLock { $0 }) > 3600 else { return }
        try pruneChangeLog(db, now: now)
        lastLogPrune.withLock { $0 = now }
    }

    func unitVector(_ embedding: [Float], what: String) throws(LibraryStoreError) -> [Float] {
        do {
            return try vectors.unitVector(embedding, what: what)
        } catch {
            throw .vector(error)
        }
    }

    /// Removes a row (its vectors and thumbnail cascade) and, after the commit, its own original.
    func deleteRow(_ db: Database, _ record: ImageRecord, after: inout AfterCommit) throws {
        guard let id = record.id else { return }
        _ = try ImageRecord.deleteOne(db, key: id)
        after.remove(id)
        if let storedPath = record.storedPath { after.filesToRemove.append(storedPath) }
    }

    func putEmbedding(_ db: Database, id: Int64, vector: [Float], after: inout AfterCommit) throws {
        try EmbeddingRecord(imageId: id, model: modelName, dim: vector.count, vector: VectorBlob.encode(vector))
            .insert(db, onConflict: .replace)
        after.upsert(id, vector)
    }

    func putThumbnail(_ db: Database, id: Int64, jpeg: [UInt8]) throws {
        guard !jpeg.isEmpty else { return }
        try ThumbnailRecord(imageId: id, jpeg: Data(jpeg)).insert(db, onConflict: .replace)
    }

    /// Whether the database holds a vector of this model for `id` (written by any process).
    func hasStoredVector(_ db: Database, id: Int64) throws -> Bool {
        try EmbeddingRecord.filter(EmbeddingRecord.Columns.imageId == id && EmbeddingRecord.Columns.model == modelName)
            .isEmpty(db) == false
    }

    /// An existing row met again: give it this model's vector and a thumbnail if it lacks them.
    func completeExisting(_ db: Database, _ existing: StoredImage, vector: [Float], thumbnailJPEG: [UInt8],
                          after: inout AfterCommit) throws {
        if !after.upserted(existing.id), try !hasStoredVector(db, id: existing.id) {
            try putEmbedding(db, id: existing.id, vector: vector, after: &after)
        }
        if try !ThumbnailRecord.exists(db, key: existing.id) {
            try putThumbnail(db, id: existing.id, jpeg: thumbnailJPEG)
        }
    }
}
