import CLIP
import Foundation
import LibraryStore
import Logging
import ServiceLifecycle
import Synchronization

/// Loads the model and opens the library beside the running server (the port is open meanwhile:
/// `/healthz` answers, `/readyz` says 503), then hands them to the `Backend`. A model or database
/// that cannot be opened ends the service with its error, which stops the server: there is nothing
/// useful to serve without them. With the demo model it then indexes the demo gallery on first
/// start (`DemoGallery`), stopping between batches when the server shuts down.
public struct ModelLoadingService: Service {
    /// What to load: the encoder, then the library for its model.
    public typealias Open = @Sendable () throws -> (encoder: CLIPEncoder, store: any LibraryStore)

    let backend: Backend
    let open: Open
    let demo: DemoModel?
    let gallery: DemoGallery?
    /// Where the library lives, for the log.
    let location: String
    let logger: Logger

    public init(backend: Backend, demo: DemoModel?, gallery: DemoGallery?, location: String, logger: Logger,
                open: @escaping Open) {
        self.backend = backend
        self.open = open
        self.demo = demo
        self.gallery = gallery
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
        if let galleryToIndex {
            let stop = Atomic<Bool>(false)
            try await withGracefulShutdownHandler {
                // Encoding is CPU-bound: a Dispatch thread, not the cooperative pool serving requests.
                try await offload { galleryToIndex.run(encoder: encoder, store: store, shouldStop: { stop.load(ordering: .relaxed) }) }
            } onGracefulShutdown: {
                stop.store(true, ordering: .relaxed)
            }
        }
        // Loading is done; the service stays up until the server shuts down.
        try await gracefulShutdown()
    }
}
