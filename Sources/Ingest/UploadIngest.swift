import CLIP
import Foundation
import SearchIndex

/// One stored upload as `/index` reports it.
struct IngestOutcome: Sendable {
    let image: StoredImage
    let duplicate: Bool
}

/// Adds uploaded image bytes to the index: sha256 first (a known image is never re-encoded), then
/// decode + encode + thumbnail outside any database transaction, then one `addUpload` that writes
/// the original, the row, the vector and the thumbnail. Two uploads of the same bytes at once share
/// one encode (`InFlightUploads`) and the unique sha256 column keeps it to one row regardless.
struct ImageIngest: Sendable {
    let loaded: Backend.Loaded
    let maxPixels: Int
    let inFlight: InFlightUploads
    let metrics: ServerMetrics

    func ingest(bytes: [UInt8], source: String) async throws -> IngestOutcome {
        let sha = ContentHash.sha256Hex(bytes)
        let index = loaded.index
        // Known bytes with a vector of this model: nothing to encode. (Stored under another model
        // only, they are encoded and addUpload completes the row.)
        if let existing = try await offload({ try index.image(sha256: sha) }), index.hasEmbedding(id: existing.id) {
            return IngestOutcome(image: existing, duplicate: true)
        }
        let (outcome, joined) = try await inFlight.run(sha256: sha) {
            try await store(bytes: bytes, sha256: sha, source: source)
        }
        return joined ? IngestOutcome(image: outcome.image, duplicate: true) : outcome
    }

    private func store(bytes: [UInt8], sha256: String, source: String) async throws -> IngestOutcome {
        let encoder = loaded.encoder
        let index = loaded.index
        let maxPixels = self.maxPixels
        let metrics = self.metrics
        let prepared: (width: Int, height: Int, embedding: [Float], thumbnail: [UInt8]) = try await offload {
            let image = try decodeImage(bytes, maxPixels: maxPixels, name: source)
            let start = ContinuousClock.now
            let embedding = encoder.encode(images: [image])[0]
            metrics.recordEncode(kind: "image", duration: ContinuousClock.now - start)
            return (image.width, image.height, embedding, try Thumbnailer.jpeg(from: image, longSide: 256))
        }
        // The decoder accepted the bytes, so they sniff as JPEG or PNG.
        let mime = ImageFormat(sniffing: bytes)?.mimeType ?? "application/octet-stream"
        let stored = try await offload {
            try index.addUpload(bytes: bytes, sha256: sha256, source: source, mime: mime,
                                width: prepared.width, height: prepared.height,
                                embedding: prepared.embedding, thumbnailJPEG: prepared.thumbnail)
        }
        if !stored.duplicate { metrics.imagesIndexed.increment() }
        metrics.setIndexSize(index.count)
        return IngestOutcome(image: stored.image, duplicate: stored.duplicate)
    }
}

/// Uploads being stored right now, by sha256: a second upload of the same bytes waits for the first
/// and reports it as a duplicate instead of encoding the image again.
actor InFlightUploads {
    private var running: [String: Task<IngestOutcome, any Error>] = [:]

    init() {}

    func run(sha256: String, _ work: @escaping @Sendable () async throws -> IngestOutcome) async throws -> (IngestOutcome, joined: Bool) {
        if let task = running[sha256] {
            return (try await task.value, true)
        }
        let task = Task { try await work() }
        running[sha256] = task
        defer { running[sha256] = nil }
        return (try await task.value, false)
    }
}
