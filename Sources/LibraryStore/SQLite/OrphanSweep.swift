import Foundation
import GRDB

/// Originals no row references: uploads whose transaction never committed (a crash between the
/// fsync and the commit), and temp files of interrupted writes.
extension SQLiteLibrary {
    /// Runs inside an IMMEDIATE transaction, so it holds SQLite's write lock from reading which
    /// files are referenced until it has removed the others: no upload, in this process or another,
    /// can commit in between and lose its file. An upload that wrote its file before the sweep and
    /// commits after it finds the file gone under the lock and writes it again.
    /// Returns the removed paths, relative to the data folder.
    public func removeOrphanedOriginals(tempFileAge: TimeInterval = 3600) throws(LibraryStoreError) -> [String] {
        let root = dataDirectory.appendingPathComponent("originals")
        guard FileManager.default.fileExists(atPath: root.path) else { return [] }
        return try wrapDatabase("removing orphaned originals") {
            try database.pool.writeWithoutTransaction { db in
                var removed: [String] = []
                try db.inTransaction(.immediate) {
                    let referenced = Set(try String.fetchAll(
                        db, ImageRecord.select(ImageRecord.Columns.storedPath).filter(ImageRecord.Columns.storedPath != nil)))
                    hooks.sweepAfterSnapshot?()
                    removed = try removeUnreferenced(under: root, referenced: referenced,
                                                     cutoff: Date().addingTimeInterval(-tempFileAge))
                    return .commit
                }
                return removed.sorted()
            }
        }
    }

    private func removeUnreferenced(under root: URL, referenced: Set<String>, cutoff: Date) throws -> [String] {
        let manager = FileManager.default
        var removed: [String] = []
        for folder in (try? manager.contentsOfDirectory(atPath: root.path)) ?? [] {
            let folderURL = root.appendingPathComponent(folder)
            for name in (try? manager.contentsOfDirectory(atPath: folderURL.path)) ?? [] {
                let relative = "originals/\(folder)/\(name)"
                if name.hasPrefix(".tmp-") {
                    // Younger temp files may be uploads in flight.
                    let attributes = try? manager.attributesOfItem(atPath: folderURL.appendingPathComponent(name).path)
                    guard let modified = attributes?[.modificationDate] as? Date, modified < cutoff else { continue }
                } else if referenced.contains(relative) || !ContentHash.isValidHex(name) {
                    continue   // in use, or not ours to judge
                }
                try originals.remove(relativePath: relative)
                removed.append(relative)
            }
        }
        return removed
    }
}
