import App
import CLIP
import Foundation
import Logging
import SearchIndex

/// The demo model's gallery on first start: `serve` indexes it (with `index`'s `FolderIndexer`) when
/// the index holds no images, or when a first indexing was interrupted. A marker file beside the
/// database (`<db>.gallery-pending`) exists while it runs, so a restart finishes an interrupted run
/// and never starts a finished one again (files already indexed are skipped anyway).
struct DemoGallery {
    let demo: DemoModel
    let encoder: CLIPEncoder
    let index: ImageIndex
    let databaseURL: URL
    let logger: Logger

    var pendingMarker: URL { URL(fileURLWithPath: databaseURL.path + ".gallery-pending") }

    /// Whether this start should index the gallery; says why in the log either way.
    func shouldIndex() -> Bool {
        if FileManager.default.fileExists(atPath: pendingMarker.path) {
            logger.info("demo gallery: the first indexing did not finish; indexing \(demo.gallery.path) again (indexed files are skipped)")
            return true
        }
        if index.count == 0 {
            logger.info("demo gallery: the index is empty; indexing \(demo.gallery.path) once the server is ready")
            return true
        }
        logger.info("demo gallery: not indexed again (the index already holds \(index.count) images)")
        return false
    }

    /// Indexes the gallery folder: progress about every 10%, then a summary line. Blocking (runs on
    /// a Dispatch thread; requests are served meanwhile and see the images as batches commit).
    func run(batchSize: Int = 32) {
        let (collected, missing) = FileCollector.collect([demo.gallery.path])
        // The images only (not captions.json), so the progress counts what is indexed.
        let files = collected.filter { ["jpg", "jpeg", "png"].contains(($0 as NSString).pathExtension.lowercased()) }
        guard missing.isEmpty else {
            logger.warning("demo gallery: \(demo.gallery.path) does not exist; nothing to index")
            return
        }
        if !FileManager.default.createFile(atPath: pendingMarker.path, contents: Data()) {
            logger.warning("demo gallery: cannot write \(pendingMarker.path); an interrupted indexing will not be resumed")
        }
        let start = Date()
        let logger = self.logger
        let step = max(1, files.count / 10)
        let lastLogged = LockedCounter()
        let indexer = FolderIndexer(encoder: encoder, index: index, batchSize: batchSize,
                                    report: { logger.warning("demo gallery: \($0)") })
        var summary = IndexSummary()
        indexer.run(files: files, progress: { done in
            if lastLogged.advance(to: done, step: step, total: files.count) {
                logger.info("demo gallery: \(done)/\(files.count) files")
            }
        }, summary: &summary)
        try? FileManager.default.removeItem(at: pendingMarker)
        let seconds = String(format: "%.1f", Date().timeIntervalSince(start))
        logger.info("demo gallery: \(summary.indexed) images indexed, \(summary.skipped) unchanged, \(summary.failed) failed, in \(seconds) s; the index holds \(index.count) images")
    }
}

/// The last progress count logged, shared by the indexer's worker threads.
private final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var logged = 0

    /// True (and remembers `done`) when `done` is at least `step` past the last logged count, or the end.
    func advance(to done: Int, step: Int, total: Int) -> Bool {
        lock.withLock {
            guard done > logged, done - logged >= step || done == total else { return false }
            logged = done
            return true
        }
    }
}
