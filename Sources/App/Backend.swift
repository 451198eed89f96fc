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
    }

    private let loaded = Mutex<Loaded?>(nil)
    /// The `serve --library` folders' status (empty without them).
    public let library: LibraryStatusBoard

    /// How long the first of several concurrent text queries waits for the others to share its
    /// pass through the text tower (0: none; queued ones still go together).
    let textBatchWindow: Duration
    /// Texts per pass (a request's texts are never split; 1: every request alone).
    let textBatchMax: Int

    public init(libraryFolders: [String] = [], textBatchWindow: Duration = .milliseconds(1),
                textBatchMax: Int = ServerSettings.maxTexts) {
        library = LibraryStatusBoard(paths: libraryFolders)
        self.textBatchWindow = textBatchWindow
        self.textBatchMax = max(1, textBatchMax)
    }

    public convenience init(encoder: CLIPEncoder, store: any LibraryStore, demo: DemoModel? = nil,
                            libraryFolders: [String] = []) {
        self.init(libraryFolders: libraryFolders)
        setLoaded(encoder: encoder, store: store, demo: demo)
    }

    public func setLoaded(encoder: CLIPEncoder, store: any LibraryStore, demo: DemoModel? = nil) {
        // The text tower splits a pass into chunks of bounded memory.
        let texts = MicroBatcher<String, [Float]>(window: textBatchWindow, maxItems: textBatchMax) {
            encoder.encode(texts: $0)
        }
        loaded.withLock { $0 = Loaded(encoder: encoder, store: store, demo: demo, texts: texts) }
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
