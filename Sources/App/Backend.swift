import CLIP
import Foundation
import Ingest
import LibraryStore
import Synchronization

/// What the routes work on: the encoder and the library, set once loading finished. Until then
/// `/readyz` answers 503 and routes that need them answer 503 `not_ready`, so the HTTP port can open
/// before a large model is read.
public final class Backend: Sendable {
    public struct Loaded: Sendable {
        public let encoder: CLIPEncoder
        public let store: any LibraryStore
        /// Set when the model is the project's demo model (`demo.json` in its folder).
        public let demo: DemoModel?
        /// Text queries of concurrent requests, encoded together (`encodeTexts`).
        let texts: MicroBatcher<String, [Float]>
        /// Model crops of concurrent requests' images (uploads, image queries), encoded together.
        let images: MicroBatcher<RGBImage, [Float]>
    }

    private let loaded = Mutex<Loaded?>(nil)
    /// The `serve --library` folders' status (empty without them).
    public let library: LibraryStatusBoard

    /// How long the first of several concurrent requests' texts (or images) waits for the others
    /// to share its pass through the tower. 0 (the default): none, and what queued during a pass is
    /// the next pass; measured at 50 clients that gives as many queries/s as a 1 ms wait, without
    /// the wait a lone client pays (bench/results/concurrent-queries-2026-12-01.md).
    let batchWindow: Duration
    /// Texts per pass (a request's texts are never split; 1: every request alone).
    let textBatchMax: Int
    /// Images per pass (1: every request alone).
    let imageBatchMax: Int

    public init(libraryFolders: [String] = [], batchWindow: Duration = .zero,
                textBatchMax: Int = ServerSettings.maxTexts, imageBatchMax: Int = 32) {
        library = LibraryStatusBoard(paths: libraryFolders)
        self.batchWindow = batchWindow
        self.textBatchMax = max(1, textBatchMax)
        self.imageBatchMax = max(1, imageBatchMax)
    }

    public convenience init(encoder: CLIPEncoder, store: any LibraryStore, demo: DemoModel? = nil,
                            libraryFolders: [String] = []) {
        self.init(libraryFolders: libraryFolders)
        setLoaded(encoder: encoder, store: store, demo: demo)
    }

    public func setLoaded(encoder: CLIPEncoder, store: any LibraryStore, demo: DemoModel? = nil) {
        // The text tower splits a pass into chunks of bounded memory; crops are 150 KB each.
        // Requests with many texts (/classify labels, /embed lists) run on their own, not in the queue.
        let texts = MicroBatcher<String, [Float]>(window: batchWindow, maxItems: textBatchMax, solo: 16) {
            encoder.encode(texts: $0)
        }
        let images = MicroBatcher<RGBImage, [Float]>(window: batchWindow, maxItems: imageBatchMax) {
            encoder.encode(images: $0)
        }
        loaded.withLock { $0 = Loaded(encoder: encoder, store: store, demo: demo, texts: texts, images: images) }
    }

    public var isReady: Bool { current != nil }

    /// The loaded encoder and library, nil while loading.
    public var current: Loaded? { loaded.withLock { $0 } }

    /// The loaded encoder and library, or 503 `not_ready`.
    func ready() throws(APIError) -> Loaded {
        guard let value = current else { throw APIError.notReady }
        return value
    }
}

/// Runs CPU-bound work (encoding, SQLite) on a Dispatch thread instead of a Swift concurrency
/// thread, so a long image encode never starves the cooperative pool that serves other requests.
func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
            continuation.resume(with: Result { try work() })
        }
    }
}
