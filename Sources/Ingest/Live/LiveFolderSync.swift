import Foundation
import LibraryStore

/// Keeps the store in step with one folder indexed in place: a full scan (every file collected,
/// new and changed ones indexed, moved ones relocated by content hash, rows of files that are gone
/// forgotten), or only the paths inotify named. The work itself is `FolderIndexer`'s.
struct LiveFolderSync: Sendable {
    let root: String
    let indexer: FolderIndexer
    let store: any LibraryStore
    let board: LibraryStatusBoard
    let report: @Sendable (String) -> Void

    /// Every file under the root, then the rows whose files are gone.
    func scan(shouldStop: () -> Bool) -> IndexSummary {
        var summary = index(FileCollector.collect([root]).files, shouldStop: shouldStop)
        if !shouldStop() { summary.pruned = forgetMissing(under: root) }
        board.update(root) {
            $0.pending = 0
            $0.lastScan = Date()
            $0.indexedTotal += summary.indexed
        }
        refreshCount()
        return summary
    }

    /// Paths inotify reported. Files present (and folders that appeared) first, so that a move is
    /// seen as the new path of known bytes before the old path is forgotten; then the paths gone.
    func apply(changed: Set<String>, removed: Set<String>, shouldStop: () -> Bool) -> IndexSummary {
        // Files as they are, folders that appeared by their contents; paths already gone again are removals.
        let (files, gone) = FileCollector.collect(changed.sorted())
        var summary = index(files, shouldStop: shouldStop)
        for path in removed.union(gone).sorted() where !FileManager.default.fileExists(atPath: path) {
            summary.pruned += forgetMissing(under: path)
        }
        board.update(root) {
            $0.pending = 0
            $0.indexedTotal += summary.indexed
        }
        refreshCount()
        return summary
    }

    /// `FolderIndexer` over `files`, with the count still to do shown as pending.
    private func index(_ files: [String], shouldStop: () -> Bool) -> IndexSummary {
        let total = files.count
        board.update(root) { $0.pending = total }
        return indexer.run(files: files, progress: { done in
            board.update(root) { $0.pending = total - done }
        }, shouldStop: shouldStop)
    }

    /// Whether `path` is `folder` or below it.
    static func isUnder(_ path: String, _ folder: String) -> Bool {
        path == folder || path.hasPrefix(folder == "/" ? "/" : folder + "/")
    }

    /// Forgets rows tracking files at `path` or below it that no longer exist.
    private func forgetMissing(under path: String) -> Int {
        var forgotten = 0
        do {
            let ids = try store.imageIDs(matching: ImageFilter(folder: path))
            for chunk in stride(from: 0, to: ids.count, by: 500) {
                let rows = try store.images(ids: Array(ids[chunk..<min(chunk + 500, ids.count)]))
                for row in rows.values where row.fileMtime != nil && !FileManager.default.fileExists(atPath: row.source) {
                    if try store.forgetIndexedFile(id: row.id) { forgotten += 1 }
                }
            }
        } catch {
            report("\(path): \(error)")
        }
        return forgotten
    }

    private func refreshCount() {
        guard let count = try? store.imageIDs(matching: ImageFilter(folder: root)).count else { return }
        board.update(root) { $0.files = count }
    }
}
