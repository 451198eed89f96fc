import CLIP
import Foundation
import SearchIndex
import Synchronization

/// What the routes work on: the encoder and the index, both set once loading finished. Until then
/// `/readyz` answers 503 and routes that need them answer 503 `not_ready`, so the HTTP port can open
/// before a large model is read.
public final class Backend: Sendable {
    public struct Loaded: Sendable {
        public let encoder: CLIPEncoder
        public let index: ImageIndex
        /// Set when the model is the project's demo model (`demo.json` in its folder).
        public let demo: DemoModel?
    }

    private let loaded = Mutex<Loaded?>(nil)

    public init() {}

    public convenience init(encoder: CLIPEncoder, index: ImageIndex, demo: DemoModel? = nil) {
        self.init()
        setLoaded(encoder: encoder, index: index, demo: demo)
    }

    public func setLoaded(encoder: CLIPEncoder, index: ImageIndex, demo: DemoModel? = nil) {
        loaded.withLock { $0 = Loaded(encoder: encoder, index: index, demo: demo) }
    }

    public var isReady: Bool { loaded.withLock { $0 != nil } }

    /// The loaded encoder and index, or 503 `not_ready`.
    func ready() throws(APIError) -> Loaded {
        guard let value = loaded.withLock({ $0 }) else { throw APIError.notReady }
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
