import Foundation
import GRDB

/// One file for `indexFiles`: what `indexFile` takes.
public struct FileEntry: Sendable {
    public var path: String
    public var sha256: String
    public var mime: String
    public var width: Int
    public var height: Int
    public var byteSize: Int
    public var mtime: Double
    public var embedding: [Float]
    public var thumbnailJPEG: [UInt8]

    public init(path: String, sha256: String, mime: String, width: Int, height: Int, byteSize: Int, mtime: Double,
                embedding: [Float], thumbnailJPEG: [UInt8]) {
        self.path = path
        self.sha256 = sha256
        self.mime = mime
        self.width = width
        self.height = height
        self.byteSize = byteSize
        self.mtime = mtime
        self.embedding = embedding
        self.thumbnailJPEG = thumbnailJPEG
    }
}

/// What `indexFile`/`relocateFile` did with a file indexed in place.
public enum FileChange: Sendable, Equatable {
    /// A new row.
    case inserted
    /// Same path, same content, same size and mtime: nothing to do.
    case unchanged
    /// Same path and content; its size or mtime changed (touched, copied over itself): updated.
    case refreshed
    /// The content was indexed at a path that no longer exists: the row now points here, and keeps
    /// its embedding and id.
    case moved(from: String)
    /// The same bytes are already stored under another source that still exists (a copy of a file,
    /// or an upload): no second row.
    case duplicateOf(String)
}

/// The image store: SQLite (WAL, a pool for concurrent reads) for rows, embeddings and thumbnails;
/// uploaded originals content-addressed under the data folder; every embedding of `modelName` held
/// in one in-memory matrix for exact top-k. Safe to use from many threads at once: searches run
/// concurrently with each other and wait only for the in-memory part of a write.
///
/// Embeddings are normalized on the way in, so every score is a cosine similarity. Vectors stored for
/// another model are ignored (never mixed in); `lackingEmbeddingCount()` tells how many images need
/// re-embedding for this one.
public final class ImageIndex: Sendable {
    public let modelName: String
    public let dimension: Int
    public let dataDirectory: URL
    public let databasePath: String

    let pool: DatabasePool
    let originals: OriginalStore
    let matrix: ReadWriteLocked<EmbeddingMatrix>

    // MARK: - Opening

    /// Opens (creating when needed) the database and the data folder, runs migrations and loads
    /// every embedding of `modelName` into memory. Throws `.dimensionMismatch` naming the row when a
    /// stored vector of this model has another length.
    public init(databasePath: String, dataDirectory: URL, modelName: String, dimension: Int) throws(SearchIndexError) {
        guard !modelName.isEmpty else { throw .invalidArgument("the model name is empty") }
        guard dimension > 0 else { throw .invalidArgument("dimension \(dimension) must be positive") }
        self.modelName = modelName
        self.dimension = dimension
        self.dataDirectory = dataDirectory
        self.databasePath = databasePath
        originals = OriginalStore(dataDirectory: dataDirectory)

        for folder in [dataDirectory, URL(fileURLWithPath: databasePath).deletingLastPathComponent()] {
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw .io(path: folder.path, reason: "cannot create folder: \(error.localizedDescription)")
            }
        }
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        // Another process (`clip-server index` beside a running server) may hold the write lock.
        configuration.busyMode = .timeout(10)
        let pool = try wrapDatabase("opening \(databasePath)") {
            try DatabasePool(path: databasePath, configuration: configuration)
        }
        self.pool = pool
        try wrapDatabase("migrating \(databasePath)") { try Schema.migrator.migrate(pool) }

        let loaded = try wrapDatabase("loading embeddings of model \(modelName)") {
            try pool.read { db in try Self.loadMatrix(db, modelName: modelName, dimension: dimension) }
        }
        matrix = ReadWriteLocked(loaded)
    }

    /// Re-reads every embedding of this model from the database: picks up what another process (a
    /// `clip-server index` beside a running server) wrote. Serialized with this instance's writes.
    public func reload() throws(SearchIndexError) {
        try wrapDatabase("reloading embeddings of model \(modelName)") {
            try pool.writeWithoutTransaction { db in
                let fresh = try Self.loadMatrix(db, modelName: modelName, dimension: dimension)
                matrix.write { $0 = fresh }
            }
        }
    }

    /// All stored vectors of `modelName`, checked against `dimension`.
    private static func loadMatrix(_ db: Database, modelName: String, dimension: Int) throws -> EmbeddingMatrix {
        var matrix = EmbeddingMatrix(dim: dimension)
        let rows = try Row.fetchCursor(db, sql: """
            SELECT image_id, dim, vector FROM embeddings WHERE model = ? ORDER BY image_id
            """, arguments: [modelName])
        while let row = try rows.next() {
            let id: Int64 = row["image_id"]
            let dim: Int = row["dim"]
            let what = "stored embedding of image \(id) for model \(modelName)"
            guard dim == dimension else {
                throw SearchIndexError.dimensionMismatch(what: what, expected: dimension, actual: dim)
            }
            let blob: Data = row["vector"]
            guard let vector = VectorBlob.decode(blob, dim: dim) else {
                throw SearchIndexError.dimensionMismatch(what: what, expected: dimension * 4, actual: blob.count)
            }
            matrix.upsert(id: id, vector: vector)
        }
        return matrix
    }

    /// Embeddings of this model held in memory (the images a search can return).
    public var count: Int { matrix.read { $0.count } }

    // MARK: - Lookups

    public func image(id: Int64) throws(SearchIndexError) -> StoredImage? {
        try wrapDatabase("reading image \(id)") { try pool.read { db in try Self.fetchImage(db, id: id) } }
    }

    /// Check before encoding, to skip duplicate work.
    public func image(sha256: String) throws(SearchIndexError) -> StoredImage? {
        try wrapDatabase("reading image \(sha256)") { try pool.read { db in try Self.fetchImage(db, sha256: sha256) } }
    }

    /// The row of a file indexed in place at `path` (absolute), if any.
    public func indexedFile(path: String) throws(SearchIndexError) -> StoredImage? {
        try wrapDatabase("reading indexed file \(path)") {
            try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM images WHERE source = ? AND stored_path IS NULL ORDER BY id LIMIT 1",
                                 arguments: [path]).map(StoredImage.init(row:))
            }
        }
    }

    /// Every file indexed in place (for pruning those that are gone).
    public func indexedFiles() throws(SearchIndexError) -> [StoredImage] {
        try wrapDatabase("listing indexed files") {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM images WHERE stored_path IS NULL ORDER BY id").map(StoredImage.init(row:))
            }
        }
    }

    /// True when the image has an embedding for this index's model.
    public func hasEmbedding(id: Int64) -> Bool {
        matrix.read { $0.contains(id) }
    }

    /// The stored (unit-length) embedding of this model, nil when there is none.
    public func embedding(id: Int64) -> [Float]? {
        matrix.read { $0.vector(of: id) }
    }

    /// The data-folder file of an upload, the path of an indexed file.
    public func originalURL(of image: StoredImage) -> URL {
        if let storedPath = image.storedPath { return originals.url(relativePath: storedPath) }
        return URL(fileURLWithPath: image.source)
    }

    public func thumbnail(id: Int64) throws(SearchIndexError) -> [UInt8]? {
        try wrapDatabase("reading thumbnail of image \(id)") {
            try pool.read { db in
                try Data.fetchOne(db, sql: "SELECT jpeg FROM thumbnails WHERE image_id = ?", arguments: [id]).map { [UInt8]($0) }
            }
        }
    }

    /// Newest first (ids only grow), with the total number of images.
    public func list(offset: Int, limit: Int) throws(SearchIndexError) -> (images: [StoredImage], total: Int) {
        guard offset >= 0, limit >= 0 else { throw .invalidArgument("offset \(offset) and limit \(limit) must not be negative") }
        return try wrapDatabase("listing images") {
            try pool.read { db in
                let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM images") ?? 0
                let images = try Row.fetchAll(db, sql: "SELECT * FROM images ORDER BY id DESC LIMIT ? OFFSET ?",
                                              arguments: [limit, offset]).map(StoredImage.init(row:))
                return (images, total)
            }
        }
    }

    /// Images with no embedding for this model (stored by another model, or never embedded).
    public func lackingEmbeddingCount() throws(SearchIndexError) -> Int {
        try wrapDatabase("counting images without a \(modelName) embedding") {
            try pool.read { db in
                try Int.fetchOne(db, sql: """
                    SELECT COUNT(*) FROM images WHERE id NOT IN (SELECT image_id FROM embeddings WHERE model = ?)
                    """, arguments: [modelName]) ?? 0
            }
        }
    }

    /// Up to `limit` images with no embedding for this model, oldest first.
    public func imagesLackingEmbedding(limit: Int) throws(SearchIndexError) -> [StoredImage] {
        try wrapDatabase("listing images without a \(modelName) embedding") {
            try pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT * FROM images WHERE id NOT IN (SELECT image_id FROM embeddings WHERE model = ?)
                    ORDER BY id LIMIT ?
                    """, arguments: [modelName, limit]).map(StoredImage.init(row:))
            }
        }
    }

    /// Number of stored embeddings per model name.
    public func embeddingCountsByModel() throws(SearchIndexError) -> [String: Int] {
        try wrapDatabase("counting embeddings per model") {
            try pool.read { db in
                var counts: [String: Int] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT model, COUNT(*) AS n FROM embeddings GROUP BY model") {
                    counts[row["model"]] = row["n"]
                }
                return counts
            }
        }
    }

    // MARK: - Writes

    /// Upload: original stored content-addressed + fsynced, then row + embedding + thumbnail in one
    /// transaction. The same bytes twice (even concurrently) → one row: returns the existing image
    /// with duplicate = true (and gives it this model's embedding if it lacked one).
    /// `sha256` must be the lowercase hex SHA-256 of `bytes` (checked).
    public func addUpload(bytes: [UInt8], sha256: String, source: String, mime: String, width: Int, height: Int,
                          embedding: [Float], thumbnailJPEG: [UInt8]) throws(SearchIndexError) -> (image: StoredImage, duplicate: Bool) {
        try Self.checkHash(sha256)
        let actual = ContentHash.sha256Hex(bytes)
        guard actual == sha256 else {
            throw .invalidSHA256("\(sha256) given for \(bytes.count) bytes whose sha256 is \(actual)")
        }
        let vector = try checkedEmbedding(embedding, what: "embedding of \(source)")
        let relative = OriginalStore.relativePath(sha256: sha256)
        // Durable before the row exists; skipped when the bytes are already stored.
        var wroteFile = false
        if try image(sha256: sha256) == nil {
            try originals.write(bytes, relativePath: relative)
            wroteFile = true
        }
        let originals = self.originals
        return try serializedWrite("storing upload \(source)") { db, after in
            if let existing = try Self.fetchImage(db, sha256: sha256) {
                try self.completeExisting(db, existing, vector: vector, thumbnailJPEG: thumbnailJPEG, after: &after)
                if wroteFile && existing.storedPath != relative { after.filesToRemove.append(relative) }
                return (existing, true)
            }
            // A delete of the same bytes may have removed the file since we wrote it.
            if !originals.exists(relativePath: relative) { try originals.write(bytes, relativePath: relative) }
            let image = try Self.insertImage(db, sha256: sha256, source: source, mime: mime, width: width, height: height,
                                             byteSize: bytes.count, fileMtime: nil, storedPath: relative)
            try self.putEmbedding(db, id: image.id, vector: vector, after: &after)
            try Self.putThumbnail(db, id: image.id, jpeg: thumbnailJPEG)
            return (image, false)
        }
    }

    /// A file indexed in place (not copied); same sha256 at a new path = a moved file: update
    /// source/mtime, keep its embedding.
    public func addFile(path: String, sha256: String, mime: String, width: Int, height: Int, byteSize: Int, mtime: Double,
                        embedding: [Float], thumbnailJPEG: [UInt8]) throws(SearchIndexError) -> (image: StoredImage, duplicate: Bool) {
        let (image, change) = try indexFile(path: path, sha256: sha256, mime: mime, width: width, height: height,
                                            byteSize: byteSize, mtime: mtime, embedding: embedding, thumbnailJPEG: thumbnailJPEG)
        return (image, change != .inserted)
    }

    /// `addFile` telling what happened. Rows that claimed `path` with other content are removed
    /// (the file was overwritten).
    public func indexFile(path: String, sha256: String, mime: String, width: Int, height: Int, byteSize: Int, mtime: Double,
                          embedding: [Float], thumbnailJPEG: [UInt8]) throws(SearchIndexError) -> (image: StoredImage, change: FileChange) {
        let entry = FileEntry(path: path, sha256: sha256, mime: mime, width: width, height: height, byteSize: byteSize,
                              mtime: mtime, embedding: embedding, thumbnailJPEG: thumbnailJPEG)
        return try indexFiles([entry])[0]
    }

    /// Many `indexFile`s in one transaction (one commit, one fsync): all stored, or none when one
    /// fails. Every entry is validated before anything is written.
    public func indexFiles(_ entries: [FileEntry]) throws(SearchIndexError) -> [(image: StoredImage, change: FileChange)] {
        var vectors: [[Float]] = []
        vectors.reserveCapacity(entries.count)
        for entry in entries {
            try Self.checkHash(entry.sha256)
            guard entry.path.hasPrefix("/") else { throw .invalidArgument("indexed path \(entry.path) is not absolute") }
            vectors.append(try checkedEmbedding(entry.embedding, what: "embedding of \(entry.path)"))
        }
        guard !entries.isEmpty else { return [] }
        let context = entries.count == 1 ? "indexing \(entries[0].path)" : "indexing \(entries.count) files"
        return try serializedWrite(context) { db, after in
            var results: [(image: StoredImage, change: FileChange)] = []
            for (entry, vector) in zip(entries, vectors) {
                try Self.removeStaleRows(db, path: entry.path, keeping: entry.sha256, after: &after)
                if let existing = try Self.fetchImage(db, sha256: entry.sha256) {
                    try self.completeExisting(db, existing, vector: vector, thumbnailJPEG: entry.thumbnailJPEG,
                                              after: &after)
                    let (image, change) = try Self.reconcile(db, existing, path: entry.path, byteSize: entry.byteSize,
                                                             mtime: entry.mtime)
                    results.append((image, change))
                    continue
                }
                let image = try Self.insertImage(db, sha256: entry.sha256, source: entry.path, mime: entry.mime,
                                                 width: entry.width, height: entry.height, byteSize: entry.byteSize,
                                                 fileMtime: entry.mtime, storedPath: nil)
                try self.putEmbedding(db, id: image.id, vector: vector, after: &after)
                try Self.putThumbnail(db, id: image.id, jpeg: entry.thumbnailJPEG)
                results.append((image, .inserted))
            }
            return results
        }
    }

    /// Without encoding anything: when these bytes are already stored with an embedding for this
    /// model, records `path` for them (a move, a touch, or a copy) and returns what changed; nil when
    /// the caller must encode the image and call `indexFile`.
    public func relocateFile(path: String, sha256: String, byteSize: Int, mtime: Double) throws(SearchIndexError) -> (image: StoredImage, change: FileChange)? {
        try Self.checkHash(sha256)
        guard path.hasPrefix("/") else { throw .invalidArgument("indexed path \(path) is not absolute") }
        return try serializedWrite("relocating \(path)") { db, after in
            guard let existing = try Self.fetchImage(db, sha256: sha256), self.matrix.read({ $0.contains(existing.id) }) else {
                return nil
            }
            try Self.removeStaleRows(db, path: path, keeping: sha256, after: &after)
            return try Self.reconcile(db, existing, path: path, byteSize: byteSize, mtime: mtime)
        }
    }

    /// Gives an existing image this model's embedding (re-embedding after a model change), replacing
    /// any it had.
    public func setEmbedding(id: Int64, embedding: [Float]) throws(SearchIndexError) {
        let vector = try checkedEmbedding(embedding, what: "embedding of image \(id)")
        try serializedWrite("storing the embedding of image \(id)") { db, after in
            guard try Self.fetchImage(db, id: id) != nil else { throw SearchIndexError.unknownImage(id: id) }
            try self.putEmbedding(db, id: id, vector: vector, after: &after)
        }
    }

    /// Removes the row, its embeddings (every model), its thumbnail, its in-memory row and, for an
    /// upload, the stored original. False when there is no such image.
    public func delete(id: Int64) throws(SearchIndexError) -> Bool {
        try serializedWrite("deleting image \(id)") { db, after in
            guard let image = try Self.fetchImage(db, id: id) else { return false }
            try db.execute(sql: "DELETE FROM images WHERE id = ?", arguments: [id])
            after.remove(id)
            if let storedPath = image.storedPath { after.filesToRemove.append(storedPath) }
            return true
        }
    }

    /// Removes files under `originals/` that no row references: originals of uploads whose
    /// transaction never committed (a crash between the fsync and the commit) and temp files of
    /// interrupted writes older than `tempFileAge` seconds (younger ones may be uploads in flight).
    /// Runs on the serialized writer, so an upload committing meanwhile re-writes its file if needed.
    /// Returns the removed paths, relative to the data folder.
    public func removeOrphanedOriginals(tempFileAge: TimeInterval = 3600) throws(SearchIndexError) -> [String] {
        let root = dataDirectory.appendingPathComponent("originals")
        let manager = FileManager.default
        guard manager.fileExists(atPath: root.path) else { return [] }
        let originals = self.originals
        return try wrapDatabase("removing orphaned originals") {
            try pool.writeWithoutTransaction { db in
                let referenced = Set(try String.fetchAll(db, sql: "SELECT stored_path FROM images WHERE stored_path IS NOT NULL"))
                var removed: [String] = []
                let cutoff = Date().addingTimeInterval(-tempFileAge)
                for folder in (try? manager.contentsOfDirectory(atPath: root.path)) ?? [] {
                    let folderURL = root.appendingPathComponent(folder)
                    for name in (try? manager.contentsOfDirectory(atPath: folderURL.path)) ?? [] {
                        let relative = "originals/\(folder)/\(name)"
                        if name.hasPrefix(".tmp-") {
                            let modified = (try? manager.attributesOfItem(atPath: folderURL.appendingPathComponent(name).path))?[.modificationDate] as? Date
                            guard let modified, modified < cutoff else { continue }
                        } else if referenced.contains(relative) || !ContentHash.isValidHex(name) {
                            continue   // in use, or not ours to judge
                        }
                        try originals.remove(relativePath: relative)
                        removed.append(relative)
                    }
                }
                return removed.sorted()
            }
        }
    }

    // MARK: - Search

    /// Exact top-k by cosine similarity. `query` need not be normalized; k ≤ 1000 is the caller's
    /// limit; `offset` skips the first results; total = number of images scoring ≥ minScore (all
    /// when nil). Ties are broken by lower id first.
    public func search(_ query: [Float], k: Int, offset: Int = 0, minScore: Float? = nil) throws(SearchIndexError) -> (hits: [SearchHit], total: Int) {
        guard k >= 0 else { throw .invalidArgument("k = \(k) must not be negative") }
        guard offset >= 0 else { throw .invalidArgument("offset = \(offset) must not be negative") }
        guard query.count == dimension else { throw .dimensionMismatch(what: "query", expected: dimension, actual: query.count) }
        let unit = try VectorNorm.normalized(query, what: "query")
        let (ranked, total) = matrix.read { $0.search(unit, k: k, offset: offset, minScore: minScore) }
        guard !ranked.isEmpty else { return ([], total) }
        let images = try wrapDatabase("reading search results") {
            try pool.read { db in
                let list = ranked.map { String($0.id) }.joined(separator: ",")
                var byId: [Int64: StoredImage] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT * FROM images WHERE id IN (\(list))") {
                    let image = StoredImage(row: row)
                    byId[image.id] = image
                }
                return byId
            }
        }
        // A row deleted between the two steps is simply left out.
        let hits = ranked.compactMap { entry in images[entry.id].map { SearchHit(image: $0, score: entry.score) } }
        return (hits, total)
    }

    // MARK: - Internals

    /// In-memory edits and file removals to apply once a transaction has committed.
    struct AfterCommit {
        enum Edit {
            case upsert(id: Int64, vector: [Float])
            case remove(id: Int64)
        }
        /// In transaction order: a row removed then re-added (or the reverse) ends up right.
        var edits: [Edit] = []
        var filesToRemove: [String] = []

        mutating func upsert(_ id: Int64, _ vector: [Float]) { edits.append(.upsert(id: id, vector: vector)) }
        mutating func remove(_ id: Int64) { edits.append(.remove(id: id)) }

        /// Whether this transaction already gave `id` a vector (and did not remove it since).
        func upserted(_ id: Int64) -> Bool {
            for edit in edits.reversed() {
                switch edit {
                case .upsert(let other, _) where other == id: return true
                case .remove(let other) where other == id: return false
                default: continue
                }
            }
            return false
        }
    }

    /// Runs `body` in one IMMEDIATE transaction on the (serialized) writer, then, still serialized,
    /// applies its in-memory edits: the matrix changes in commit order and never holds a row that
    /// did not commit.
    private func serializedWrite<T>(_ context: @autoclosure () -> String,
                                    _ body: (Database, inout AfterCommit) throws -> T) throws(SearchIndexError) -> T {
        try wrapDatabase(context()) {
            try pool.writeWithoutTransaction { db in
                var after = AfterCommit()
                var result: T?
                try db.inTransaction(.immediate) {
                    after = AfterCommit()
                    result = try body(db, &after)
                    return .commit
                }
                let done = after
                matrix.write { matrix in
                    for edit in done.edits {
                        switch edit {
                        case .upsert(let id, let vector): matrix.upsert(id: id, vector: vector)
                        case .remove(let id): matrix.remove(id: id)
                        }
                    }
                }
                // The rows are gone: a failure here leaves an orphan file, never a dangling row.
                for path in done.filesToRemove { try? originals.remove(relativePath: path) }
                return result!
            }
        }
    }

    private func checkedEmbedding(_ embedding: [Float], what: String) throws(SearchIndexError) -> [Float] {
        guard embedding.count == dimension else {
            throw .dimensionMismatch(what: what, expected: dimension, actual: embedding.count)
        }
        return try VectorNorm.normalized(embedding, what: what)
    }

    private static func checkHash(_ sha256: String) throws(SearchIndexError) {
        guard ContentHash.isValidHex(sha256) else {
            throw .invalidSHA256("\"\(sha256.prefix(80))\" is not 64 lowercase hex digits")
        }
    }

    private func putEmbedding(_ db: Database, id: Int64, vector: [Float], after: inout AfterCommit) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO embeddings (image_id, model, dim, vector) VALUES (?, ?, ?, ?)",
                       arguments: [id, modelName, dimension, VectorBlob.encode(vector)])
        after.upsert(id, vector)
    }

    private static func putThumbnail(_ db: Database, id: Int64, jpeg: [UInt8]) throws {
        guard !jpeg.isEmpty else { return }
        try db.execute(sql: "INSERT OR REPLACE INTO thumbnails (image_id, jpeg) VALUES (?, ?)", arguments: [id, Data(jpeg)])
    }

    /// An existing row met again: give it this model's embedding and a thumbnail if it lacks them.
    private func completeExisting(_ db: Database, _ existing: StoredImage, vector: [Float], thumbnailJPEG: [UInt8],
                                  after: inout AfterCommit) throws {
        if !after.upserted(existing.id) && !matrix.read({ $0.contains(existing.id) }) {
            try putEmbedding(db, id: existing.id, vector: vector, after: &after)
        }
        let hasThumbnail = try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM thumbnails WHERE image_id = ?)",
                                             arguments: [existing.id]) ?? false
        if !hasThumbnail { try Self.putThumbnail(db, id: existing.id, jpeg: thumbnailJPEG) }
    }

    /// Rows of files indexed at `path` whose content differs from `sha256`: the file was overwritten.
    private static func removeStaleRows(_ db: Database, path: String, keeping sha256: String, after: inout AfterCommit) throws {
        let stale = try Int64.fetchAll(db, sql: "SELECT id FROM images WHERE source = ? AND stored_path IS NULL AND sha256 != ?",
                                       arguments: [path, sha256])
        for id in stale {
            try db.execute(sql: "DELETE FROM images WHERE id = ?", arguments: [id])
            after.remove(id)
        }
    }

    /// Same bytes met at `path`: decide between unchanged, refreshed, moved and duplicate.
    private static func reconcile(_ db: Database, _ existing: StoredImage, path: String, byteSize: Int,
                                  mtime: Double) throws -> (StoredImage, FileChange) {
        if existing.storedPath != nil { return (existing, .duplicateOf(existing.source)) }
        if existing.source == path {
            if existing.byteSize == byteSize && existing.fileMtime == mtime { return (existing, .unchanged) }
            try db.execute(sql: "UPDATE images SET byte_size = ?, file_mtime = ? WHERE id = ?",
                           arguments: [byteSize, mtime, existing.id])
            return (try fetchImage(db, id: existing.id)!, .refreshed)
        }
        if FileManager.default.fileExists(atPath: existing.source) {
            return (existing, .duplicateOf(existing.source))
        }
        try db.execute(sql: "UPDATE images SET source = ?, byte_size = ?, file_mtime = ? WHERE id = ?",
                       arguments: [path, byteSize, mtime, existing.id])
        return (try fetchImage(db, id: existing.id)!, .moved(from: existing.source))
    }

    private static func insertImage(_ db: Database, sha256: String, source: String, mime: String, width: Int, height: Int,
                                    byteSize: Int, fileMtime: Double?, storedPath: String?) throws -> StoredImage {
        try db.execute(sql: """
            INSERT INTO images (sha256, source, mime, width, height, byte_size, file_mtime, stored_path, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [sha256, source, mime, width, height, byteSize, fileMtime, storedPath,
                             Date().timeIntervalSince1970])
        return try fetchImage(db, id: db.lastInsertedRowID)!
    }

    static func fetchImage(_ db: Database, id: Int64) throws -> StoredImage? {
        try Row.fetchOne(db, sql: "SELECT * FROM images WHERE id = ?", arguments: [id]).map(StoredImage.init(row:))
    }

    static func fetchImage(_ db: Database, sha256: String) throws -> StoredImage? {
        try Row.fetchOne(db, sql: "SELECT * FROM images WHERE sha256 = ?", arguments: [sha256]).map(StoredImage.init(row:))
    }
}

/// Runs GRDB work, turning its errors into `SearchIndexError.database` (our own errors pass through).
func wrapDatabase<T>(_ context: @autoclosure () -> String, _ body: () throws -> T) throws(SearchIndexError) -> T {
    do {
        return try body()
    } catch let error as SearchIndexError {
        throw error
    } catch {
        throw .database(context: context(), message: "\(error)")
    }
}
