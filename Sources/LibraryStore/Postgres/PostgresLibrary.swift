import Foundation
import Logging
import PostgresNIO
import SearchIndex
import Synchronization

/// The shared library: PostgreSQL with pgvector holds the rows, vectors, thumbnails and uploaded
/// originals (bytea), so any number of servers on any machines serve one library. Each store keeps
/// every vector of `modelName` in its own `VectorIndex` (the in-memory search, as SQLite's store does)
/// and follows the other servers' commits through the `vector_changes` log (PostgresLibrary+Changes).
/// Writes are in PostgresLibrary+Writes and PostgresLibrary+Files.
///
/// The protocol is synchronous: every call runs its queries on postgres-nio's own event loops and
/// waits for them (`BlockingBridge` says why that cannot deadlock). Connections come from a pool
/// (`PostgresClient`, at most `maximumConnections`), which runs for the life of the store.
public final class PostgresLibrary: LibraryStore {
    public let modelName: String
    public let vectors: VectorIndex
    public let url: PostgresURL

    let client: PostgresClient
    let bridge = BlockingBridge.shared
    /// postgres-nio wants a logger per query; engine libraries do not log.
    let logger = Logger(label: "clip-server.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    /// The last `vector_changes` sequence number `vectors` reflects.
    let followed = Mutex<Int64>(0)
    /// This process's writes and catch-ups, one at a time, so that `vectors` takes changes in commit
    /// order (across servers the write lock orders the commits themselves).
    let applying = Mutex<Void>(())
    let lastLogPrune = Mutex<Date>(.distantPast)
    /// Whether a refresh woken by a notification is queued and not yet started.
    let refreshQueued = Mutex(false)
    private let running: Task<Void, Never>
    private let listening = Mutex<Task<Void, Never>?>(nil)

    // MARK: - Opening

    /// Connects to `url` (postgres:// or postgresql://, libpq style), runs the migrations and loads
    /// every vector of `modelName`. Throws naming the row when a stored vector has another length.
    public init(url text: String, modelName: String, dimension: Int, maximumConnections: Int = 8) throws(LibraryStoreError) {
        guard !modelName.isEmpty else { throw .invalidArgument("the model name is empty") }
        do {
            vectors = try VectorIndex(dimension: dimension)
        } catch {
            throw .vector(error)
        }
        let url = try PostgresURL(text)
        self.url = url
        self.modelName = modelName
        var configuration = url.isUnixSocket
            ? PostgresClient.Configuration(unixSocketPath: url.socketPath, username: url.user, password: url.password, database: url.database)
            : PostgresClient.Configuration(host: url.host, port: url.port, username: url.user, password: url.password,
                                           database: url.database, tls: Self.tls(url.tls))
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(Int64(url.connectTimeout ?? 10))
        let client = PostgresClient(configuration: configuration, eventLoopGroup: bridge.group)
        self.client = client
        running = bridge.start { await client.run() }
        let logger = logger
        let where_ = url.redacted
        // The pool retries a refused connection for ever: a server that is not there fails the open
        // after the connect timeout (and a little more for the migrations) instead.
        let opened: (vectors: [VectorChange], latest: Int64)
        do {
            try bridge.wait(timeout: .seconds(Int64(url.connectTimeout ?? 10) + 5)) {
                try await PostgresSchema.migrate(client, logger: logger)
            }
            // No timeout: a large library takes a while to load, and the server is known to answer.
            opened = try bridge.wait {
                try await client.withTransaction(logger: logger) { connection in
                    // One snapshot: the vectors and the change they are up to.
                    try await connection.rows("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", logger: logger)
                    let latest = try await Self.latestChange(connection, logger: logger)
                    let stored = try await Self.storedVectors(connection, modelName: modelName, dimension: dimension, logger: logger)
                    return (stored, latest)
                }
            }
        } catch {
            running.cancel()
            throw Self.wrap(error, "opening \(where_) (model \(modelName))")
        }
        vectors.apply(opened.vectors)
        followed.withLock { $0 = opened.latest }
        let listener = startListening()
        listening.withLock { $0 = listener }
    }

    deinit {
        listening.withLock { $0?.cancel() }
        running.cancel()
    }

    private static func tls(_ mode: PostgresURL.TLSMode) -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: .disable
        case .allow, .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }

    // MARK: - Running queries

    /// How long one call may wait for the database (a connection from the pool, its queries, the
    /// commit) before it fails, so that a server that stops answering fails requests instead of
    /// hanging them. A write that timed out is not applied to `vectors`; if it did commit, the
    /// change log brings it in with the next refresh.
    static let queryTimeout: Duration = .seconds(60)

    /// Our own errors pass through; PostgreSQL's become `.database` with the server's message.
    static func wrap(_ error: any Error, _ context: String) -> LibraryStoreError {
        if let error = error as? LibraryStoreError { return error }
        if let error = error as? PostgresTransactionError,
           let cause = error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError {
            return wrap(cause, context)
        }
        if error is BridgeTimeout { return .database(context: context, message: "no answer from the server in the time allowed (is it running, and is the URL right?)") }
        if let error = error as? PSQLError {
            let server = error.serverInfo.map { info in
                [info[.sqlState].map { "SQLSTATE \($0)" }, info[.message], info[.detail]].compactMap { $0 }.joined(separator: ": ")
            }
            return .database(context: context, message: server ?? "\(error.code)")
        }
        return .database(context: context, message: "\(error)")
    }

    /// Runs `body` with a pooled connection and waits for it.
    func read<T: Sendable>(_ context: @autoclosure () -> String,
                           _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T) throws(LibraryStoreError) -> T {
        let client = client, logger = logger
        do {
            return try bridge.wait(timeout: Self.queryTimeout) { try await client.withConnection { try await body($0, logger) } }
        } catch {
            throw Self.wrap(error, context())
        }
    }

    // MARK: - Reads

    public func image(id: Int64) throws(LibraryStoreError) -> StoredImage? {
        try read("reading image \(id)") { db, logger in
            try await PostgresRows.images(db.rows("SELECT \(unescaped: PostgresRows.imageColumns) FROM images WHERE id = \(id)",
                                                   logger: logger)).first
        }
    }

    public func image(sha256: String) throws(LibraryStoreError) -> StoredImage? {
        try read("reading image \(sha256)") { db, logger in
            try await Self.image(sha256: sha256, db, logger: logger)
        }
    }

    static func image(sha256: String, _ db: PostgresConnection, logger: Logger, lock: Bool = false) async throws -> StoredImage? {
        try await PostgresRows.images(db.rows("""
            SELECT \(unescaped: PostgresRows.imageColumns) FROM images WHERE sha256 = \(sha256)\(unescaped: lock ? " FOR UPDATE" : "")
            """, logger: logger)).first
    }

    public func images(ids: [Int64]) throws(LibraryStoreError) -> [Int64: StoredImage] {
        guard !ids.isEmpty else { return [:] }
        return try read("reading \(ids.count) images") { db, logger in
            let rows = try await PostgresRows.images(db.rows(
                "SELECT \(unescaped: PostgresRows.imageColumns) FROM images WHERE id = ANY(\(ids))", logger: logger))
            return Dictionary(rows.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    public func indexedFile(path: String) throws(LibraryStoreError) -> StoredImage? {
        try read("reading indexed file \(path)") { db, logger in
            try await PostgresRows.images(db.rows("""
                SELECT \(unescaped: PostgresRows.imageColumns) FROM images
                WHERE file_mtime IS NOT NULL AND source = \(path) ORDER BY id LIMIT 1
                """, logger: logger)).first
        }
    }

    public func indexedFiles() throws(LibraryStoreError) -> [StoredImage] {
        try read("listing indexed files") { db, logger in
            try await PostgresRows.images(db.rows(
                "SELECT \(unescaped: PostgresRows.imageColumns) FROM images WHERE file_mtime IS NOT NULL ORDER BY id", logger: logger))
        }
    }

    public func list(offset: Int, limit: Int) throws(LibraryStoreError) -> (images: [StoredImage], total: Int) {
        guard offset >= 0, limit >= 0 else { throw .invalidArgument("offset \(offset) and limit \(limit) must not be negative") }
        let result = try read("listing images") { db, logger in
            var total = 0
            for try await count in try await db.rows("SELECT count(*) FROM images", logger: logger).decode(Int.self) { total = count }
            let page = try await PostgresRows.images(db.rows("""
                SELECT \(unescaped: PostgresRows.imageColumns) FROM images ORDER BY id DESC LIMIT \(limit) OFFSET \(offset)
                """, logger: logger))
            return (page, total)
        }
        return (result.0, result.1)
    }

    public func thumbnail(id: Int64) throws(LibraryStoreError) -> [UInt8]? {
        try read("reading thumbnail of image \(id)") { db, logger in
            try await Self.bytes(db.rows("SELECT jpeg FROM thumbnails WHERE image_id = \(id)", logger: logger))
        }
    }

    /// The upload's own copy (in the database), else the file in place: opened without following a
    /// symlink, only as a regular file of the recorded size (as SQLite's store does).
    public func original(of image: StoredImage) throws(LibraryStoreError) -> [UInt8]? {
        if image.storedPath != nil {
            let id = image.id
            if let bytes = try read("reading the original of image \(id)", { db, logger in
                try await Self.bytes(db.rows("SELECT bytes FROM originals WHERE image_id = \(id)", logger: logger))
            }) { return bytes }
        }
        guard image.fileMtime != nil else { return nil }
        return OriginalStore.readRegularFile(atPath: image.source, expectedSize: image.byteSize)
    }

    static func bytes(_ rows: PostgresRowSequence) async throws -> [UInt8]? {
        var found: [UInt8]?
        for try await data in rows.decode(Data.self) { found = [UInt8](data) }
        return found
    }

    public func imagesLackingEmbedding(afterID: Int64, limit: Int) throws(LibraryStoreError) -> [StoredImage] {
        let model = modelName
        return try read("listing images without a \(model) embedding") { db, logger in
            try await PostgresRows.images(db.rows("""
                SELECT \(unescaped: PostgresRows.imageColumns) FROM images
                WHERE id > \(afterID) AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.image_id = images.id AND e.model = \(model))
                ORDER BY id LIMIT \(limit)
                """, logger: logger))
        }
    }

    public func lackingEmbeddingCount() throws(LibraryStoreError) -> Int {
        let model = modelName
        return try read("counting images without a \(model) embedding") { db, logger in
            var count = 0
            for try await value in try await db.rows("""
                SELECT count(*) FROM images
                WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.image_id = images.id AND e.model = \(model))
                """, logger: logger).decode(Int.self) { count = value }
            return count
        }
    }

    public func imageIDs(matching filter: ImageFilter) throws(LibraryStoreError) -> [Int64] {
        var sql = PostgresQuery.StringInterpolation(literalCapacity: 128, interpolationCount: 4)
        sql.appendLiteral("SELECT id FROM images WHERE ")
        PostgresRows.appendCondition(filter, to: &sql)
        let query = PostgresQuery(stringInterpolation: sql)
        return try read("listing images matching a filter") { db, logger in
            try await db.rows(query, logger: logger).decode(Int64.self).array()
        }
    }

    /// PostgreSQL full text: each word split as the paths are (anything not a letter or digit) and
    /// taken as a phrase by phraseto_tsquery, which reads plain text only (no operator of a hostile
    /// string reaches the query parser); the words' queries ORed; best ts_rank first, then id.
    /// Unlike SQLite's unicode61, accents are kept (no unaccent in the database).
    public func imagesMatching(words: [String], limit: Int, filter: ImageFilter) throws(LibraryStoreError) -> [Int64] {
        let words = Array(words.prefix(32))
        guard !words.isEmpty, limit > 0 else { return [] }
        var sql = PostgresQuery.StringInterpolation(literalCapacity: 512, interpolationCount: 6)
        sql.appendLiteral("""
            WITH q AS (SELECT clip_tsquery_or(phraseto_tsquery('simple', regexp_replace(w, '[^[:alnum:]]+', ' ', 'g'))) AS query
                       FROM unnest(
            """)
        sql.appendInterpolation(words)
        sql.appendLiteral("""
            ::text[]) AS w)
            SELECT images.id FROM images, q WHERE images.search_text @@ q.query AND 
            """)
        PostgresRows.appendCondition(filter, to: &sql)
        sql.appendLiteral(" ORDER BY ts_rank(images.search_text, q.query) DESC, images.id LIMIT ")
        sql.appendInterpolation(limit)
        let query = PostgresQuery(stringInterpolation: sql)
        return try read("full-text search") { db, logger in
            try await db.rows(query, logger: logger).decode(Int64.self).array()
        }
    }

    /// Nothing to sweep: originals are rows that cascade with their image, so none outlives it.
    public func removeOrphanedOriginals(tempFileAge: TimeInterval) throws(LibraryStoreError) -> [String] {
        []
    }
}
