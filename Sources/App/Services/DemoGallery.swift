import CLIP
import Foundation
import Ingest
import Logging
import LibraryStore
import Synchronization

/// The demo model's gallery on first start: `ModelLoadingService` asks `shouldIndex` before the
/// server is ready and then indexes the folder in place (with `FolderIndexer`) when the library
/// holds no images, or when a first indexing was interrupted. A marker file beside the database
/// (`<db>.gallery-pending`) exists while it runs, so a restart finishes an interrupted run and never
/// starts a finished one again (files already indexed are skipped anyway).
public struct DemoGallery: Sendable {
    let demo: DemoModel
    let pendingMarker: URL
    let logger: Logger
    let batchSize: Int

    public init(demo: DemoModel, databaseURL: URL, logger: Logger, batchSize: Int = 32) {
        self.demo = demo
        pendingMarker = URL(fileURLWithPath: databaseURL.path + ".gallery-pending")
        self.logger = logger
        self.batchSize = batchSize
    }

    /// Whether this start should index the gallery; says why in the log either way.
    func shouldIndex(imageCount: Int) -> Bool {
        if FileManager.default.fileExists(atPath: pendingMarker.path) {
            logger.info("demo gallery: the first indexing did not finish; indexing \(demo.gallery.path) again (indexed files are skipped)")
            return true
        }
        if imageCount == 0 {
            logger.info("demo gallery: the index is empty; indexing \(demo.gallery.path) once the server is ready")
            return true
        }
        logger.info("demo gallery: not indexed again (the index already holds \(imageCount) images)")
        return false
    }

    /// Indexes the gallery folder: progress about every 10%, then a summary line. Blocking; stops
    /// between batches once `shouldStop` says so.
    func run(encoder: CLIPEncoder, store: any LibraryStore, shouldStop: @escaping () -> Bool) {
        let indexer = FolderIndexer(encoder: encoder, store: store, batchSize: batchSize,
                                    report: { [logger] in logger.warning("demo gallery: \($0)") })
        let (collected, missing) = FileCollector.collect([demo.gallery.path])
        guard missing.isEmpty else {
            logger.warning("demo gallery: \(demo.gallery.path) does not exist; nothing to index")
            return
        }
        // The images only (not captions.json), so the progress counts what is indexed.
        let files = collected.filter { ["jpg", "jpeg", "png"].contains(($0 as NSString).pathExtension.lowercased()) }
        if !FileManager.default.createFile(atPath: pendingMarker.path, contents: Data()) {
            logger.warning("demo gallery: cannot write \(pendingMarker.path); an interrupted indexing will not be resumed")
        }
        let start = Date()
        let step = max(1, files.count / 10)
        let lastLogged = Mutex(0)
        let logger = self.logger
        let summary = indexer.run(files: files, progress: { done in
            let due = lastLogged.withLock { logged in
                guard done > logged, done - logged >= step || done == files.count else { return false }
                logged = done
                return true
            }
            if due { logger.info("demo gallery: \(done)/\(files.count) files") }
        }, shouldStop: shouldStop)
        if shouldStop() {
            logger.info("demo gallery: stopped by shutdown; the next start finishes it")
            return
        }
        try? FileManager.default.removeItem(at: pendingMarker)
        let seconds = String(format: "%.1f", Date().timeIntervalSince(start))
        logger.info("demo gallery: \(summary.indexed) images indexed, \(summary.skipped) unchanged, \(summary.failed) failed, in \(seconds) s; the index holds \(indexer.store.vectors.count) images")
    }
}
