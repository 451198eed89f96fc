import CLIP
import Foundation
import Ingest
import LibraryStore
import Logging
import ServiceLifecycle
import Synchronization

/// Loads the model and opens the library beside the running server (the port is open meanwhile:
/// `/healthz` answers, `/readyz` says 503), then hands them to the `Backend`. A model or database
/// that cannot be opened ends the service with its error, which stops the server: there is nothing
/// useful to serve without them. Once loaded, until the server shuts down, it
/// - follows other processes' writes to the same database (a CLI `index`, a second server), once a second;
/// - keeps the `serve --library` folders in sync (`LiveLibrary`, on a thread of its own);
/// - with the demo model, indexes the demo gallery on first start (`DemoGallery`).
/// The blocking work stops between batches when the server shuts down.
public struct ModelLoadingService: Service {
    /// What to load: the encoder, then the library for its model.
    public typealias Open = @Sendable () throws -> (encoder: CLIPEncoder, store: any LibraryStore)

    /// `serve --library` folders (canonical paths) and their scan interval.
    public struct LiveFolders: Sendable {
        public var folders: [String]
        public var scanInterval: Duration

        public init(folders: [String], scanInterval: Duration) {
            self.folders = folders
            self.scanInterval = scanInterval
        }
    }

    let backend: Backend
    let open: Open
    let demo: DemoModel?
    let gallery: DemoGallery?
    let live: LiveFolders?
    /// Where the library lives, for the log.
    let location: String
    let logger: Logger
    /// How often the database is checked for other processes' writes.
    static let followInterval: Duration = .seconds(1)

    public init(backend: Backend, demo: DemoModel?, gallery: DemoGallery?, live: LiveFolders? = nil, location: String,
                logger: Logger, open: @escaping Open) {
        self.backend = backend
        self.open = open
        self.demo = demo
        self.gallery = gallery
        self.live = live
        self.location = location
        self.logger = logger
    }

    public func run() async throws {
        let start = ContinuousClock.now
        let (encoder, store) = try await offload(open)
        // Originals of uploads a crash interrupted before their row committed.
        let orphans = try await offload { try store.removeOrphanedOriginals(tempFileAge: 3600) }
        if !orphans.isEmpty { logger.info("removed \(orphans.count) orphaned original(s) of interrupted uploads") }
        // Decided before the server is ready, so what a client adds meanwhile does not change it.
        let galleryToIndex = gallery.flatMap { $0.shouldIndex(imageCount: store.vectors.count) ? $0 : nil }
        backend.setLoaded(encoder: encoder, store: store, demo: demo)
        logger.info("ready: model \(encoder.name) (\(encoder.dimension) dims), \(store.vectors.count) images in \(location), loaded in \(ContinuousClock.now - start)")
        if let demo {
            logger.warning("demo model in use (\(encoder.name)), trained on synthetic shapes: \(demo.note)")
        }
        let logger = self.logger
        let liveLibrary = live.map { live in
            LiveLibrary(folders: live.folders, scanInterval: live.scanInterval, encoder: encoder, store: store,
                        board: backend.library, log: { logger.info("\($0)") })
        }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await Self.followOtherWriters(store, logger: logger) }
            if let galleryToIndex {
                group.addTask {
                    try await Self.untilShutdown { stop in galleryToIndex.run(encoder: encoder, store: store, shouldStop: stop) }
                }
            }
            if let liveLibrary {
                group.addTask { try await Self.untilShutdown { stop in liveLibrary.run(shouldStop: stop) } }
            }
            // The service stays up until the server shuts down.
            try await gracefulShutdown()
        }
    }

    /// Applies what other processes committed, once a second, until shutdown (cheap when nothing changed).
    private static func followOtherWriters(_ store: any LibraryStore, logger: Logger) async {
        var failing = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: followInterval)
            do {
                let changed = try await offload { try store.refresh() }
                if changed > 0 { logger.debug("applied \(changed) vector change(s) from other writers") }
                failing = false
            } catch {
                if !failing { logger.error("following other writers: \(error)") }
                failing = true
            }
        }
    }

    /// Blocking work on a thread of its own (never the cooperative pool), told to stop between
    /// batches once the server shuts down.
    private static func untilShutdown(_ work: @escaping @Sendable (_ shouldStop: @escaping @Sendable () -> Bool) -> Void) async throws {
        let stop = StopFlag()
        try await withGracefulShutdownHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                Thread {
                    work { stop.isSet }
                    continuation.resume()
                }.start()
            }
        } onGracefulShutdown: {
            stop.set()
        }
    }
}

/// Set once, read from any thread.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}
