import Dispatch
import Foundation
import Logging
import PostgresNIO
import SearchIndex

/// Following the other servers' writes. A trigger logs every change to `embeddings` in
/// `vector_changes` (bigserial `seq`) inside the changing transaction; `followed` is the last seq
/// whose change `vectors` reflects, and catching up reads the rows changed since.
///
/// The bigserial gap problem: sequence numbers are handed out when a row is inserted, not when its
/// transaction commits, so a reader could see seq 12 committed while 11 is still in flight, move
/// `followed` to 12 and never look at 11 again. Here that cannot happen because every write
/// transaction first takes one transaction-level advisory lock (`PostgresSchema.writeLock`; the
/// trigger takes it too, so a writer cannot forget it) and keeps it until its commit: sequence
/// numbers are then handed out in commit order. PostgreSQL makes a commit visible before it releases
/// the transaction's locks, so whatever a reader's snapshot shows, every number below the highest
/// one it sees belongs to a transaction that is visible or rolled back, and an in-flight writer can
/// only hold higher numbers. The price is that writes to one library are serialized (as SQLite's
/// are); encoding, the slow part of an upload, happens before the transaction.
extension PostgresLibrary {
    /// The change log is kept this long; a server further behind reloads every vector.
    static let changeLogRetention: TimeInterval = 86_400

    /// Changes to apply, and the sequence number they bring `vectors` up to.
    struct CatchUp: Sendable {
        var changes: [VectorChange]
        var latest: Int64
    }

    static func latestChange(_ db: PostgresConnection, logger: Logger) async throws -> Int64 {
        try await db.rows("SELECT coalesce(max(seq), 0) FROM vector_changes", logger: logger).decode(Int64.self).array().first ?? 0
    }

    /// Applies what other servers committed since the last look; returns how many vectors changed.
    /// Cheap when nothing did: one index lookup of the newest sequence number.
    public func refresh() throws(LibraryStoreError) -> Int {
        let latest = try read("reading the change counter") { db, logger in try await Self.latestChange(db, logger: logger) }
        guard latest > followed.withLock({ $0 }) else { return 0 }
        let client = client, logger = logger
        return try applying.withLock { _ throws(LibraryStoreError) -> Int in
            let since = followed.withLock { $0 }
            let pending: CatchUp
            do {
                pending = try bridge.wait(timeout: Self.queryTimeout) {
                    try await client.withTransaction(logger: logger) { db in
                        // One snapshot for the counter and the rows.
                        try await db.rows("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
                        return try await self.catchUp(db, since: since)
                    }
                }
            } catch {
                throw Self.wrap(error, "following other servers' writes")
            }
            vectors.apply(pending.changes)
            followed.withLock { $0 = max($0, pending.latest) }
            return pending.changes.count
        }
    }

    /// LISTEN on one pooled connection: the trigger NOTIFYs at each commit that changed vectors, and
    /// that wakes `refresh()` at once instead of at the server's next once-a-second call (which stays:
    /// it catches whatever a notification lost while reconnecting would have announced). The refresh
    /// runs on a Dispatch thread, never on the event loop that delivered the notification.
    func startListening() -> Task<Void, Never> {
        let client = client
        return bridge.start { [weak self] in
            while !Task.isCancelled {
                try? await client.withConnection { connection in
                    try await connection.listen(on: "clip_vector_changes") { notifications in
                        for try await _ in notifications {
                            guard let self else { return }
                            self.refreshSoon()
                        }
                    }
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Queues one refresh (notifications that arrive before it starts share it).
    private func refreshSoon() {
        let queue = refreshQueued.withLock { queued in
            defer { queued = true }
            return !queued
        }
        guard queue else { return }
        DispatchQueue.global().async { [weak self] in
            guard let self else { return }
            refreshQueued.withLock { $0 = false }
            _ = try? refresh()
        }
    }

    /// What `vectors` lacks of the database as this transaction sees it.
    func catchUp(_ db: PostgresConnection, since: Int64) async throws -> CatchUp {
        let bounds = try await db.rows("SELECT coalesce(max(seq), 0), min(seq) FROM vector_changes", logger: logger)
            .decode((Int64, Int64?).self).array()
        let latest = bounds.first?.0 ?? 0
        guard latest > since else { return CatchUp(changes: [], latest: since) }
        // Pruned past what we follow (or, rarely, a rolled-back number right at the start of the
        // log, which looks the same): reload everything.
        if let oldest = bounds.first?.1, oldest > since + 1 {
            return CatchUp(changes: try await reloadAll(db), latest: latest)
        }
        let model = modelName, dimension = vectors.dimension
        var changes: [VectorChange] = []
        let rows = try await db.rows("""
            SELECT c.image_id, e.dim, e.vector::real[]
            FROM (SELECT DISTINCT image_id FROM vector_changes WHERE seq > \(since) AND model = \(model)) c
            LEFT JOIN embeddings e ON e.image_id = c.image_id AND e.model = \(model)
            ORDER BY c.image_id
            """, logger: logger)
        for try await (id, dim, vector) in rows.decode((Int64, Int?, [Float]?).self) {
            if let dim, let vector {
                changes.append(.upsert(id: id, vector: try Self.checked(vector, dim: dim, id: id, modelName: model, dimension: dimension)))
            } else {
                changes.append(.remove(id: id))
            }
        }
        return CatchUp(changes: changes, latest: latest)
    }

    /// Every stored vector, and the removal of every id held that the database no longer has.
    private func reloadAll(_ db: PostgresConnection) async throws -> [VectorChange] {
        let upserts = try await Self.storedVectors(db, modelName: modelName, dimension: vectors.dimension, logger: logger)
        var present = Set<Int64>()
        for case .upsert(let id, _) in upserts { present.insert(id) }
        return vectors.ids.filter { !present.contains($0) }.map { .remove(id: $0) } + upserts
    }

    /// Every stored vector of `modelName`, checked against `dimension`.
    static func storedVectors(_ db: PostgresConnection, modelName: String, dimension: Int,
                              logger: Logger) async throws -> [VectorChange] {
        var changes: [VectorChange] = []
        let rows = try await db.rows("SELECT image_id, dim, vector::real[] FROM embeddings WHERE model = \(modelName) ORDER BY image_id",
                                      logger: logger)
        for try await (id, dim, vector) in rows.decode((Int64, Int, [Float]).self) {
            changes.append(.upsert(id: id, vector: try checked(vector, dim: dim, id: id, modelName: modelName, dimension: dimension)))
        }
        return changes
    }

    /// A stored vector of the right length; throws naming the row otherwise.
    static func checked(_ vector: [Float], dim: Int, id: Int64, modelName: String, dimension: Int) throws -> [Float] {
        let what = "stored embedding of image \(id) for model \(modelName)"
        guard dim == dimension else { throw LibraryStoreError.vector(.dimensionMismatch(what: what, expected: dimension, actual: dim)) }
        guard vector.count == dim else { throw LibraryStoreError.vector(.dimensionMismatch(what: what, expected: dim, actual: vector.count)) }
        return vector
    }

    /// Drops log rows older than the retention, at most hourly (called from writes, where the log grows).
    func pruneChangeLogHourly(_ db: PostgresConnection) async throws {
        let now = Date()
        guard now.timeIntervalSince(lastLogPrune.withLock { $0 }) > 3600 else { return }
        let seconds = Self.changeLogRetention
        try await db.rows("DELETE FROM vector_changes WHERE changed_at < now() - make_interval(secs => \(seconds))", logger: logger)
        lastLogPrune.withLock { $0 = now }
    }
}
