import Foundation
import GRDB
import SearchIndex

/// Following the writes of other processes on the same database (a CLI `index` beside a running
/// server, a second server): triggers log every change to `embeddings` in `vector_changes` (see the
/// v2 migration); `followed` is the last sequence number whose change `vectors` reflects. Catching up
/// reads the rows changed since then and applies only those. It always runs on the serialized writer
/// connection, inside a transaction, so it cannot interleave with this process's own writes.
extension SQLiteLibrary {
    /// Changes to apply, and the sequence number they bring `vectors` up to.
    struct CatchUp {
        var changes: [VectorChange]
        var latest: Int64
    }

    /// The change log is kept this long; a process further behind reloads every vector.
    static let changeLogRetention: TimeInterval = 86_400

    /// The newest sequence number handed out (pruned rows included).
    static func latestChange(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'vector_changes'") ?? 0
    }

    /// Applies changes other processes committed since the last look; returns how many vectors
    /// changed. Cheap when there are none: one read of a counter.
    public func refresh() throws(LibraryStoreError) -> Int {
        let latest = try wrapDatabase("reading the change counter") { try database.pool.read(Self.latestChange) }
        guard latest != followed.withLock({ $0 }) else { return 0 }
        return try wrapDatabase("following other processes' writes") {
            try database.pool.writeWithoutTransaction { db in
                var pending = CatchUp(changes: [], latest: 0)
                try db.inTransaction(.deferred) {
                    pending = try catchUp(db)
                    return .commit
                }
                vectors.apply(pending.changes)
                followed.withLock { $0 = pending.latest }
                noteApplied(pending.changes.count)
                return pending.changes.count
            }
        }
    }

    /// What `vectors` lacks of the database as this transaction sees it.
    func catchUp(_ db: Database) throws -> CatchUp {
        let since = followed.withLock { $0 }
        let latest = try Self.latestChange(db)
        guard latest != since else { return CatchUp(changes: [], latest: latest) }
        let oldestKept = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM vector_changes") ?? latest + 1
        guard oldestKept <= since + 1 else { return CatchUp(changes: try reloadAll(db), latest: latest) }
        let changed = try Int64.fetchAll(db, sql: "SELECT DISTINCT image_id FROM vector_changes WHERE seq > ? AND model = ?",
                                         arguments: [since, modelName])
        var stored: [Int64: [Float]] = [:]
        for chunk in stride(from: 0, to: changed.count, by: 500) {
            let ids = Array(changed[chunk..<min(chunk + 500, changed.count)])
            let rows = try EmbeddingRecord.filter(ids.contains(EmbeddingRecord.Columns.imageId)
                                                  && EmbeddingRecord.Columns.model == modelName).fetchAll(db)
            for row in rows { stored[row.imageId] = try checkedVector(row) }
        }
        let changes = changed.map { id in stored[id].map { VectorChange.upsert(id: id, vector: $0) } ?? .remove(id: id) }
        return CatchUp(changes: changes, latest: latest)
    }

    /// Every stored vector, and the removal of every id held that the database no longer has.
    private func reloadAll(_ db: Database) throws -> [VectorChange] {
        let upserts = try Self.storedVectors(db, modelName: modelName, dimension: vectors.dimension)
        var present = Set<Int64>()
        for case .upsert(let id, _) in upserts { present.insert(id) }
        return vectors.ids.filter { !present.contains($0) }.map { .remove(id: $0) } + upserts
    }

    /// Drops log rows older than the retention (called from writes, where the log grows).
    func pruneChangeLog(_ db: Database, now: Date = Date()) throws {
        try db.execute(sql: "DELETE FROM vector_changes WHERE changed_at < ?",
                       arguments: [now.timeIntervalSince1970 - Self.changeLogRetention])
    }

    /// Every stored vector of `modelName`, checked against `dimension`.
    static func storedVectors(_ db: Database, modelName: String, dimension: Int) throws -> [VectorChange] {
        var changes: [VectorChange] = []
        let rows = try EmbeddingRecord.filter(EmbeddingRecord.Columns.model == modelName)
            .order(EmbeddingRecord.Columns.imageId).fetchCursor(db)
        while let row = try rows.next() {
            changes.append(.upsert(id: row.imageId, vector: try checkedVector(row, modelName: modelName, dimension: dimension)))
        }
        return changes
    }

    private func checkedVector(_ row: EmbeddingRecord) throws -> [Float] {
        try Self.checkedVector(row, modelName: modelName, dimension: vectors.dimension)
    }

    /// A stored vector of the right length; throws naming the row otherwise.
    static func checkedVector(_ row: EmbeddingRecord, modelName: String, dimension: Int) throws -> [Float] {
        try checkShape(imageID: row.imageId, dim: row.dim, bytes: row.vector.count, modelName: modelName, dimension: dimension)
        return VectorBlob.decode(row.vector, dim: row.dim)!
    }

    /// Throws naming the row when its dimension or byte count does not fit `dimension`.
    static func checkShape(imageID: Int64, dim: Int, bytes: Int, modelName: String, dimension: Int) throws {
        let what = "stored embedding of image \(imageID) for model \(modelName)"
        guard dim == dimension else {
            throw LibraryStoreError.vector(.dimensionMismatch(what: what, expected: dimension, actual: dim))
        }
        guard bytes == dim * 4 else {
            throw LibraryStoreError.vector(.dimensionMismatch(what: what, expected: dimension * 4, actual: bytes))
        }
    }

    /// Every stored vector of `modelName` as one matrix in the order SQLite reads them: ids (rows) and values
    /// (rows, dimension), copied from the blobs straight into one array (the open's full read).
    static func storedMatrix(_ db: Database, modelName: String, dimension: Int) throws -> (ids: [Int64], values: [Float]) {
        let count = try EmbeddingRecord.filter(EmbeddingRecord.Columns.model == modelName).fetchCount(db)
        var ids: [Int64] = []
        var values: [Float] = []
        ids.reserveCapacity(count)
        values.reserveCapacity(count * dimension)
        let rows = try Row.fetchCursor(db, sql: "SELECT image_id, dim, vector FROM embeddings WHERE model = ?",
                                       arguments: [modelName])
        while let row = try rows.next() {
            let id: Int64 = row[0]
            let dim: Int = row[1]
            try row.withUnsafeData(atIndex: 2) { data in
                let blob = data ?? Data()
                try checkShape(imageID: id, dim: dim, bytes: blob.count, modelName: modelName, dimension: dimension)
                ids.append(id)
                #if _endian(little)
                let start = values.count
                values.append(contentsOf: repeatElement(0, count: dimension))
                values.withUnsafeMutableBytes { raw in _ = blob.copyBytes(to: UnsafeMutableRawBufferPointer(rebasing: raw[start * 4 ..< (start + dimension) * 4])) }
                #else
                values += VectorBlob.decode(blob, dim: dimension)!
                #endif
            }
        }
        return (ids, values)
    }
}
