import Foundation
import GRDB
import SearchIndex
import Synchronization

/// The embedded library: SQLite (WAL, a pool for concurrent reads) for rows, vectors and thumbnails;
/// uploaded originals content-addressed under the data folder (`OriginalStore`); every vector of
/// `modelName` mirrored in a `VectorIndex`. Writes are in `SQLiteLibrary+Writes.swift`, files indexed
/// in place in `FolderReconcile.swift`, the orphan sweep in `OrphanSweep.swift`.
public final class SQLiteLibrary: LibraryStore {
    public let modelName: String
    public let vectors: VectorIndex
    public let databasePath: String
    public let dataDirectory: URL

    let database: AppDatabase
    let originals: OriginalStore
    let hooks: Hooks
    /// The last `vector_changes` sequence number `vectors` reflects (ChangeFeed.swift).
    let followed = Mutex<Int64>(0)
    /// When this process last pruned the change log.
    let lastLogPrune = Mutex<Date>(.distantPast)
    /// The vector file (SQLiteLibrary+VectorFile.swift): changes applied since it was written, whether
    /// a background write is queued, the queue that writes it, and how this open loaded the vectors.
    let unsavedChanges = Mutex<Int>(0)
    let vectorFileScheduled = Mutex<Bool>(false)
    let vectorFileQueue = DispatchQueue(label: "LibraryStore.SQLiteLibrary.vectorFile")
    private let openedFrom = Mutex<VectorSource>(.rows)

    /// Where this open took the vectors from: the vector file (and how many changes the log added),
    /// or the rows (and why the file was not used). Callers log it; the store does not.
    public var vectorSource: VectorSource { openedFrom.withLock { $0 } }

    /// Points where a test can run code inside an operation (to interleave two writers).
    struct Hooks: Sendable {
        /// The sweep has read which originals are referenced and not yet removed any.
        var sweepAfterSnapshot: (@Sendable () -> Void)?
    }

    // MARK: - Opening

    /// Opens (creating when needed) the database and the data folder, runs migrations and loads
    /// every vector of `modelName` (from the vector file beside the database when it agrees with
    /// the database, else from the rows: `vectorSource` says which). Throws naming the row when a stored vector has another length.
    public convenience init(databasePath: String, dataDirectory: URL, modelName: String, dimension: Int) throws(LibraryStoreError) {
        try self.init(databasePath: databasePath, dataDirectory: dataDirectory, modelName: modelName,
                      dimension: dimension, hooks: Hooks())
    }

    init(databasePath: String, dataDirectory: URL, modelName: String, dimension: Int, hooks: Hooks) throws(LibraryStoreError) {
        guard !modelName.isEmpty else { throw .invalidArgument("the model name is empty") }
        do {
            vectors = try VectorIndex(dimension: dimension)
        } catch {
            throw .vector(error)
        }
        self.modelName = modelName
        self.databasePath = databasePath
        self.dataDirectory = dataDirectory
        self.hooks = hooks
        originals = OriginalStore(dataDirectory: dataDirectory)
        for folder in [dataDirectory, URL(fileURLWithPath: databasePath).deletingLastPathComponent()] {
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw .io(path: folder.path, reason: "cannot create folder: \(error.localizedDescription)")
            }
        }
        database = try AppDatabase(path: databasePath)
        let source = try openVectors()
        openedFrom.withLock { $0 = source }
    }

    deinit {
        writeVectorFileAtClose()
    }

    // MARK: - Reads

    public func image(id: Int64) throws(LibraryStoreError) -> StoredImage? {
        try read("reading image \(id)") { db in try ImageRecord.fetchOne(db, key: id)?.image }
    }

    public func image(sha256: String) throws(LibraryStoreError) -> StoredImage? {
        try read("reading image \(sha256)") { db in try ImageRecord.withSHA256(sha256).fetchOne(db)?.image }
    }

    public func images(ids: [Int64]) throws(LibraryStoreError) -> [Int64: StoredImage] {
        try read("reading \(ids.count) images") { db in
            let rows = try ImageRecord.fetchAll(db, keys: ids).map(\.image)
            return Dictionary(rows.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    public func indexedFile(path: String) throws(LibraryStoreError) -> StoredImage? {
        try read("reading indexed file \(path)") { db in
            try ImageRecord.indexedInPlace().filter(ImageRecord.Columns.source == path)
                .order(ImageRecord.Columns.id).fetchOne(db)?.image
        }
    }

    public func indexedFiles() throws(LibraryStoreError) -> [StoredImage] {
        try read("listing indexed files") { db in
            try ImageRecord.indexedInPlace().order(ImageRecord.Columns.id).fetchAll(db).map(\.image)
        }
    }

    public func list(offset: Int, limit: Int) throws(LibraryStoreError) -> (images: [StoredImage], total: Int) {
        guard offset >= 0, limit >= 0 else { throw .invalidArgument("offset \(offset) and limit \(limit) must not be negative") }
        return try read("listing images") { db in
            let total = try ImageRecord.fetchCount(db)
            let page = try ImageRecord.order(ImageRecord.Columns.id.desc).limit(limit, offset: offset).fetchAll(db)
            return (page.map(\.image), total)
        }
    }

    public func thumbnail(id: Int64) throws(LibraryStoreError) -> [UInt8]? {
        try read("reading thumbnail of image \(id)") { db in
            try ThumbnailRecord.fetchOne(db, key: id).map { [UInt8]($0.jpeg) }
        }
    }

    /// Opened without following a symlink at the last component, and only as a regular file of
    /// the recorded size: a file in place swapped for a link to /etc/shadow, a device or a FIFO, or
    /// changed since it was indexed, is not served (nil).
    public func original(of image: StoredImage) throws(LibraryStoreError) -> [UInt8]? {
        OriginalStore.readRegularFile(atPath: originalURL(of: image).path, expectedSize: image.byteSize)
    }

    /// The upload's own copy, else the file in place.
    func originalURL(of image: StoredImage) -> URL {
        image.storedPath.map(originals.url(relativePath:)) ?? URL(fileURLWithPath: image.source)
    }

    public func imagesLackingEmbedding(afterID: Int64, limit: Int) throws(LibraryStoreError) -> [StoredImage] {
        try read("listing images without a \(modelName) embedding") { db in
            try lackingEmbedding().filter(ImageRecord.Columns.id > afterID).order(ImageRecord.Columns.id)
                .limit(limit).fetchAll(db).map(\.image)
        }
    }

    public func lackingEmbeddingCount() throws(LibraryStoreError) -> Int {
        try read("counting images without a \(modelName) embedding") { db in try lackingEmbedding().fetchCount(db) }
    }

    public func imageIDs(matching filter: ImageFilter) throws(LibraryStoreError) -> [Int64] {
        let request = ImageRecord.select(ImageRecord.Columns.id).filter(Self.condition(filter))
        return try read("listing images matching a filter") { db in try Int64.fetchAll(db, request) }
    }

    public func imagesMatching(words: [String], limit: Int, filter: ImageFilter) throws(LibraryStoreError) -> [Int64] {
        // Each word a quoted FTS5 string (quotes doubled), any of them: no FTS5 syntax reaches the parser.
        let terms = words.prefix(32).map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        guard !terms.isEmpty, limit > 0 else { return [] }
        let match = terms.joined(separator: " OR ")
        // MATERIALIZED: MATCH must run inside the FTS table's own scan, before the join filters.
        let literal: SQL = """
            WITH matched AS MATERIALIZED (
                SELECT rowid AS id, bm25(image_text) AS rank FROM image_text WHERE image_text MATCH \(match))
            SELECT matched.id FROM matched JOIN images ON images.id = matched.id
            WHERE \(Self.condition(filter))
            ORDER BY matched.rank, matched.id LIMIT \(limit)
            """
        return try read("full-text search") { db in try Int64.fetchAll(db, SQLRequest<Int64>(literal: literal)) }
    }

    /// The rows `filter` allows, as one SQL condition on `images` (true when it is empty).
    static func condition(_ filter: ImageFilter) -> SQLExpression {
        var parts: [SQLExpression] = []
        let taken = ImageRecord.Columns.takenAtOrFallback
        if let after = filter.takenAfter { parts.append(taken >= after.timeIntervalSince1970) }
        if let before = filter.takenBefore { parts.append(taken < before.timeIntervalSince1970) }
        if let folder = filter.folderPath {
            // A prefix compare, not LIKE: "%" and "_" in folder names mean themselves. substr counts characters.
            let prefix = folder == "/" ? "/" : folder + "/"
            let source = ImageRecord.Columns.source
            parts.append(source == folder || SQL("substr(source, 1, \(prefix.unicodeScalars.count)) = \(prefix)").sqlExpression)
        }
        return parts.isEmpty ? true.sqlExpression : parts.joined(operator: .and)
    }

    /// Images with no vector of this model (stored by another model, or never embedded).
    private func lackingEmbedding() -> QueryInterfaceRequest<ImageRecord> {
        let embedded = EmbeddingRecord.filter(EmbeddingRecord.Columns.model == modelName).select(EmbeddingRecord.Columns.imageId)
        return ImageRecord.filter(!embedded.contains(ImageRecord.Columns.id))
    }

    private func read<T>(_ context: @autoclosure () -> String, _ body: (Database) throws -> T) throws(LibraryStoreError) -> T {
        try wrapDatabase(context()) { try database.pool.read(body) }
    }
}
