import Dispatch
import Foundation
import GRDB
import SearchIndex

/// The vector file (`VectorFile`) beside the database: loaded at open when it agrees with the
/// database, then caught up from the change log; rewritten in the background after enough changes
/// and when the store closes. SQLite stays the truth: a file that is missing, damaged, of another
/// model, or from another history (ahead of the database, a restored backup) is ignored and the
/// vectors are read from the rows, and a crash between a commit and the file's write only leaves
/// the file behind the log, which catching up covers.
extension SQLiteLibrary {
    /// How the vectors were loaded at open (for the caller to log).
    public enum VectorSource: Sendable, Equatable {
        /// From the vector file, then `caughtUp` changes from the log.
        case file(caughtUp: Int)
        /// From the rows: no file yet.
        case rows
        /// From the rows because the file could not be used (`reason` says why).
        case rowsIgnoringFile(reason: String)
    }

    /// `<database>.vectors`.
    public var vectorFileURL: URL { URL(fileURLWithPath: databasePath + ".vectors") }

    /// Changes applied since the file was last written that make a background rewrite worth it:
    /// half the library, and at least this many.
    static let vectorFileMinChanges = 20_000

    // MARK: - Opening

    /// Loads `vectors` from the file when it agrees with the database, else from the rows; sets `followed`.
    func openVectors() throws(LibraryStoreError) -> VectorSource {
        VectorFile.removeStaleTempFiles(of: vectorFileURL)
        var source = VectorSource.rows
        var file: VectorFile?
        do {
            file = try VectorFile.read(vectorFileURL, modelName: modelName, dimension: vectors.dimension)
        } catch {
            source = .rowsIgnoringFile(reason: error.reason)
        }
        let loaded = try wrapDatabase("loading embeddings of model \(modelName)") {
            try database.pool.read { db -> VectorSource? in
                guard let file else { return nil }
                if let reason = try disagreement(db, file) {
                    source = .rowsIgnoringFile(reason: reason)
                    return nil
                }
                do throws(SearchIndexError) {
                    try vectors.load(file.snapshot)
                } catch {
                    source = .rowsIgnoringFile(reason: error.description)
                    return nil
                }
                followed.withLock { $0 = file.position.sequence }
                let pending = try catchUp(db)
                vectors.apply(pending.changes)
                followed.withLock { $0 = pending.latest }
                return .file(caughtUp: pending.changes.count)
            }
        }
        if let loaded {
            if case .file(let caughtUp) = loaded { unsavedChanges.withLock { $0 = caughtUp } }
            return loaded
        }
        // One snapshot: the vectors and the change they are up to.
        let (stored, latest) = try wrapDatabase("loading embeddings of model \(modelName)") {
            try database.pool.read { db in
                (try Self.storedMatrix(db, modelName: modelName, dimension: vectors.dimension), try Self.latestChange(db))
            }
        }
        do {
            try vectors.load(ids: stored.ids, values: stored.values)
        } catch {
            throw .vector(error)
        }
        followed.withLock { $0 = latest }
        unsavedChanges.withLock { $0 = stored.ids.isEmpty ? 0 : Int.max / 2 }
        return source
    }

    /// Why `file` does not describe this database's history (nil when it does): its position is
    /// past the log's end, the log no longer holds the changes after it, or the entry at its
    /// position is another one (a backup restored and written again).
    private func disagreement(_ db: Database, _ file: VectorFile) throws -> String? {
        let latest = try Self.latestChange(db)
        let at = file.position
        guard at.sequence <= latest else {
            return "the file is at change \(at.sequence), the database at \(latest) (restored from a backup?)"
        }
        let oldestKept = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM vector_changes") ?? latest + 1
        guard at.sequence == latest || oldestKept <= at.sequence + 1 else {
            return "the change log was pruned past the file's change \(at.sequence)"
        }
        if let entry = try Self.logEntry(db, sequence: at.sequence) {
            return entry == at ? nil : "change \(at.sequence) differs from the file's (another history)"
        }
        // The entry itself is pruned (an idle library) or there was none: the file must be at the end
        // of the log and hold as many vectors as the rows.
        let stored = try EmbeddingRecord.filter(EmbeddingRecord.Columns.model == modelName).fetchCount(db)
        guard at.sequence == latest, at.imageID == 0 || oldestKept > at.sequence, stored == file.snapshot.ids.count else {
            return "the file's change \(at.sequence) cannot be checked against the log"
        }
        return nil
    }

    /// The log entry numbered `sequence`, as a file position (nil when the log does not hold it).
    static func logEntry(_ db: Database, sequence: Int64) throws -> VectorFile.Position? {
        guard let row = try Row.fetchOne(db, sql: "SELECT image_id, changed_at FROM vector_changes WHERE seq = ?",
                                         arguments: [sequence]) else { return nil }
        return VectorFile.Position(sequence: sequence, imageID: row[0], changedAt: row[1])
    }

    // MARK: - Writing

    /// Writes the vector file now (durably, replacing the old one) from the vectors as of the last
    /// change this store applied.
    public func writeVectorFile() throws(LibraryStoreError) {
        let result: Result<Void, LibraryStoreError> = vectorFileQueue.sync {
            do throws(LibraryStoreError) {
                try writeVectorFileNow()
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    /// On the file queue: the vectors and their log position captured on the serialized writer
    /// (so no write lands between the two), the file written outside it.
    func writeVectorFileNow() throws(LibraryStoreError) {
        let (snapshot, position, changes) = try wrapDatabase("capturing the vectors for \(vectorFileURL.path)") {
            try database.pool.writeWithoutTransaction { db in
                let sequence = followed.withLock { $0 }
                let position = try Self.logEntry(db, sequence: sequence) ?? VectorFile.Position(sequence: sequence, imageID: 0, changedAt: 0)
                return (vectors.snapshot(), position, unsavedChanges.withLock { $0 })
            }
        }
        try VectorFile(modelName: modelName, position: position, snapshot: snapshot).write(to: vectorFileURL)
        unsavedChanges.withLock { $0 = max(0, $0 - changes) }
    }

    /// Counts `count` applied changes and starts a background rewrite once they are many.
    func noteApplied(_ count: Int) {
        guard count > 0 else { return }
        let due = unsavedChanges.withLock { unsaved -> Bool in
            unsaved = min(Int.max / 2, unsaved + count)
            return unsaved >= max(Self.vectorFileMinChanges, vectors.count / 2)
        }
        guard due, vectorFileScheduled.withLock({ scheduled in
            defer { scheduled = true }
            return !scheduled
        }) else { return }
        vectorFileQueue.async { [self] in
            vectorFileScheduled.withLock { $0 = false }
            try? writeVectorFileNow()   // a failed cache write costs a slower open, nothing else
        }
    }

    /// At close (deinit: nothing else holds the store, so no other write of the file runs; not
    /// through the queue, whose last task may be what releases the store): the file is rewritten
    /// when the vectors changed since it was.
    func writeVectorFileAtClose() {
        guard unsavedChanges.withLock({ $0 }) > 0 else { return }
        try? writeVectorFileNow()
    }
}
