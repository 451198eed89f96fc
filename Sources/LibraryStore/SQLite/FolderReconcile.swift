import Foundation
import GRDB

/// Files indexed in place: new files, touched ones, moves (same bytes at a new path), overwrites
/// (other bytes at a known path) and files that are gone.
extension SQLiteLibrary {
    public func indexFiles(_ entries: [FileEntry]) throws(LibraryStoreError) -> [(image: StoredImage, change: FileChange)] {
        // Every entry is checked before anything is written.
        var vectors: [[Float]] = []
        vectors.reserveCapacity(entries.count)
        for entry in entries {
            try Self.checkIndexable(path: entry.path, sha256: entry.sha256)
            vectors.append(try unitVector(entry.embedding, what: "embedding of \(entry.path)"))
        }
        guard !entries.isEmpty else { return [] }
        let context = entries.count == 1 ? "indexing \(entries[0].path)" : "indexing \(entries.count) files"
        return try serializedWrite(context) { db, after in
            var results: [(image: StoredImage, change: FileChange)] = []
            for (entry, vector) in zip(entries, vectors) {
                try dropStaleRows(db, path: entry.path, keeping: entry.sha256, after: &after)
                if let existing = try ImageRecord.withSHA256(entry.sha256).fetchOne(db) {
                    try completeExisting(db, existing.image, vector: vector, thumbnailJPEG: entry.thumbnailJPEG, after: &after)
                    results.append(try reconcile(db, existing, path: entry.path, byteSize: entry.byteSize, mtime: entry.mtime))
                    continue
                }
                var record = ImageRecord(id: nil, sha256: entry.sha256, source: entry.path, mime: entry.mime,
                                         width: entry.width, height: entry.height, byteSize: entry.byteSize,
                                         fileMtime: entry.mtime, storedPath: nil, createdAt: Date().timeIntervalSince1970,
                                         takenAt: entry.takenAt?.timeIntervalSince1970 ?? entry.mtime,
                                         keywords: Self.keywordsColumn(entry.keywords))
                try record.insert(db)
                let image = record.image
                try putEmbedding(db, id: image.id, vector: vector, after: &after)
                try putThumbnail(db, id: image.id, jpeg: entry.thumbnailJPEG)
                results.append((image, .inserted))
            }
            return results
        }
    }

    public func relocateFile(path: String, sha256: String, byteSize: Int, mtime: Double) throws(LibraryStoreError) -> (image: StoredImage, change: FileChange)? {
        try Self.checkIndexable(path: path, sha256: sha256)
        return try serializedWrite("relocating \(path)") { db, after in
            guard let existing = try ImageRecord.withSHA256(sha256).fetchOne(db), let id = existing.id,
                  try hasStoredVector(db, id: id) else { return nil }
            try dropStaleRows(db, path: path, keeping: sha256, after: &after)
            return try reconcile(db, existing, path: path, byteSize: byteSize, mtime: mtime)
        }
    }

    public func forgetIndexedFile(id: Int64) throws(LibraryStoreError) -> Bool {
        try serializedWrite("forgetting the indexed file of image \(id)") { db, after in
            guard let record = try ImageRecord.fetchOne(db, key: id) else { return false }
            try untrack(db, record, after: &after)
            return true
        }
    }

    // MARK: - Helpers

    private static func checkIndexable(path: String, sha256: String) throws(LibraryStoreError) {
        guard ContentHash.isValidHex(sha256) else {
            throw .invalidArgument("sha256 \"\(sha256.prefix(80))\" of \(path) is not 64 lowercase hex digits")
        }
        guard path.hasPrefix("/") else { throw .invalidArgument("indexed path \(path) is not absolute") }
    }

    /// A file in place is no longer there (or holds other bytes): drop its row, unless an upload of
    /// the same bytes owns a copy; then the row stays, as that upload only.
    private func untrack(_ db: Database, _ record: ImageRecord, after: inout AfterCommit) throws {
        guard record.storedPath != nil else {
            try deleteRow(db, record, after: &after)
            return
        }
        var kept = record
        kept.fileMtime = nil
        try kept.update(db)
    }

    /// Rows tracking `path` whose content differs from `sha256`: the file was overwritten.
    private func dropStaleRows(_ db: Database, path: String, keeping sha256: String, after: inout AfterCommit) throws {
        let stale = try ImageRecord.indexedInPlace()
            .filter(ImageRecord.Columns.source == path && ImageRecord.Columns.sha256 != sha256).fetchAll(db)
        for record in stale { try untrack(db, record, after: &after) }
    }

    /// Known bytes met at `path`: unchanged, refreshed, moved, or a duplicate of another source.
    private func reconcile(_ db: Database, _ existing: ImageRecord, path: String, byteSize: Int,
                           mtime: Double) throws -> (StoredImage, FileChange) {
        var record = existing
        if record.source == path && record.fileMtime != nil {
            if record.byteSize == byteSize && record.fileMtime == mtime { return (record.image, .unchanged) }
            record.byteSize = byteSize
            record.fileMtime = mtime
            try record.update(db)
            return (record.image, .refreshed)
        }
        // An upload only, or a file in place elsewhere that still exists: this path is a copy.
        if record.fileMtime == nil || FileManager.default.fileExists(atPath: record.source) {
            return (record.image, .duplicateOf(record.source))
        }
        let from = record.source
        record.source = path
        record.byteSize = byteSize
        record.fileMtime = mtime
        try record.update(db)
        return (record.image, .moved(from: from))
    }
}
