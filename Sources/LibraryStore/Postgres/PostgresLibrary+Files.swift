import Foundation
import PostgresNIO

/// Files indexed in place (paths on the machine that indexed them): new files, touched ones,
/// moves (same bytes at a new path), overwrites (other bytes at a known path) and files that are
/// gone. The same rules as SQLite's store (FolderReconcile.swift).
extension PostgresLibrary {
    public func indexFiles(_ entries: [FileEntry]) throws(LibraryStoreError) -> [(image: StoredImage, change: FileChange)] {
        // Every entry is checked before anything is written.
        var unitVectors: [[Float]] = []
        unitVectors.reserveCapacity(entries.count)
        for entry in entries {
            try Self.requireIndexable(entry.path, entry.sha256)
            unitVectors.append(try unitVector(entry.embedding, what: "embedding of \(entry.path)"))
        }
        guard !entries.isEmpty else { return [] }
        let context = entries.count == 1 ? "indexing \(entries[0].path)" : "indexing \(entries.count) files"
        let checked = unitVectors
        let results = try serializedWrite(context) { db, pending in
            var results: [Reconciled] = []
            for (entry, vector) in zip(entries, checked) {
                try await self.dropStaleRows(db, path: entry.path, keeping: entry.sha256, pending: &pending)
                if let existing = try await Self.image(sha256: entry.sha256, db, logger: self.logger, lock: true) {
                    try await self.completeExisting(db, existing, vector: vector, thumbnailJPEG: entry.thumbnailJPEG, pending: &pending)
                    results.append(try await self.reconcile(db, existing, path: entry.path, byteSize: entry.byteSize, mtime: entry.mtime))
                    continue
                }
                let inserted = try await PostgresRows.images(db.rows("""
                    INSERT INTO images (sha256, source, mime, width, height, byte_size, file_mtime, stored_path, created_at, taken_at, keywords)
                    VALUES (\(entry.sha256), \(entry.path), \(entry.mime), \(Int64(entry.width)), \(Int64(entry.height)),
                            \(Int64(entry.byteSize)), \(entry.mtime), NULL, \(Date().timeIntervalSince1970),
                            \(entry.takenAt?.timeIntervalSince1970 ?? entry.mtime), \(Self.keywordsColumn(entry.keywords)))
                    RETURNING \(unescaped: PostgresRows.imageColumns)
                    """, logger: self.logger))
                let image = inserted[0]
                try await self.putThumbnail(db, id: image.id, jpeg: entry.thumbnailJPEG)
                try await self.putEmbedding(db, id: image.id, vector: vector, pending: &pending)
                results.append(Reconciled(image: image, change: .inserted))
            }
            return results
        }
        return results.map { ($0.image, $0.change) }
    }

    public func relocateFile(path: String, sha256: String, byteSize: Int, mtime: Double) throws(LibraryStoreError) -> (image: StoredImage, change: FileChange)? {
        try Self.requireIndexable(path, sha256)
        let result = try serializedWrite("relocating \(path)") { db, pending -> Reconciled? in
            guard let existing = try await Self.image(sha256: sha256, db, logger: self.logger, lock: true),
                  try await self.hasStoredVector(db, id: existing.id) else { return nil }
            try await self.dropStaleRows(db, path: path, keeping: sha256, pending: &pending)
            return try await self.reconcile(db, existing, path: path, byteSize: byteSize, mtime: mtime)
        }
        return result.map { ($0.image, $0.change) }
    }

    public func forgetIndexedFile(id: Int64) throws(LibraryStoreError) -> Bool {
        try serializedWrite("forgetting the indexed file of image \(id)") { db, pending in
            let rows = try await PostgresRows.images(db.rows(
                "SELECT \(unescaped: PostgresRows.imageColumns) FROM images WHERE id = \(id) FOR UPDATE", logger: self.logger))
            guard let record = rows.first else { return false }
            try await self.untrack(db, record, pending: &pending)
            return true
        }
    }

    // MARK: - Helpers

    struct Reconciled: Sendable {
        var image: StoredImage
        var change: FileChange
    }

    /// A hash that is not 64 hex digits or a relative path is refused before anything is written.
    private static func requireIndexable(_ path: String, _ sha256: String) throws(LibraryStoreError) {
        if !ContentHash.isValidHex(sha256) {
            throw .invalidArgument("sha256 \"\(sha256.prefix(80))\" of \(path) is not 64 lowercase hex digits")
        }
        if !path.hasPrefix("/") { throw .invalidArgument("indexed path \(path) is not absolute") }
    }

    /// A file in place is no longer there (or holds other bytes): drop its row, unless an upload of
    /// the same bytes owns a copy; then the row stays, as that upload only.
    private func untrack(_ db: PostgresConnection, _ image: StoredImage, pending: inout PendingChanges) async throws {
        guard image.storedPath != nil else {
            _ = try await deleteRow(db, id: image.id, pending: &pending)
            return
        }
        try await db.rows("UPDATE images SET file_mtime = NULL WHERE id = \(image.id)", logger: logger)
    }

    /// Rows tracking `path` whose content differs from `sha256`: the file was overwritten.
    private func dropStaleRows(_ db: PostgresConnection, path: String, keeping sha256: String,
                               pending: inout PendingChanges) async throws {
        let stale = try await PostgresRows.images(db.rows("""
            SELECT \(unescaped: PostgresRows.imageColumns) FROM images
            WHERE file_mtime IS NOT NULL AND source = \(path) AND sha256 <> \(sha256) FOR UPDATE
            """, logger: logger))
        for image in stale { try await untrack(db, image, pending: &pending) }
    }

    /// Known bytes met at `path`: unchanged, refreshed, moved, or a duplicate of another source.
    private func reconcile(_ db: PostgresConnection, _ existing: StoredImage, path: String, byteSize: Int,
                           mtime: Double) async throws -> Reconciled {
        if existing.source == path && existing.fileMtime != nil {
            if existing.byteSize == byteSize && existing.fileMtime == mtime { return Reconciled(image: existing, change: .unchanged) }
            return Reconciled(image: try await update(db, existing.id, source: path, byteSize: byteSize, mtime: mtime), change: .refreshed)
        }
        // An upload only, or a file in place elsewhere that still exists: this path is a copy.
        if existing.fileMtime == nil || FileManager.default.fileExists(atPath: existing.source) {
            return Reconciled(image: existing, change: .duplicateOf(existing.source))
        }
        let moved = try await update(db, existing.id, source: path, byteSize: byteSize, mtime: mtime)
        return Reconciled(image: moved, change: .moved(from: existing.source))
    }

    private func update(_ db: PostgresConnection, _ id: Int64, source: String, byteSize: Int, mtime: Double) async throws -> StoredImage {
        try await PostgresRows.images(db.rows("""
            UPDATE images SET source = \(source), byte_size = \(Int64(byteSize)), file_mtime = \(mtime)
            WHERE id = \(id) RETURNING \(unescaped: PostgresRows.imageColumns)
            """, logger: logger))[0]
    }
}
