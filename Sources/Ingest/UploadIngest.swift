import CLIP
import Foundation
import LibraryStore

/// One image a client sent.
public struct Upload: Sendable {
    public let name: String
    public let bytes: [UInt8]

    public init(name: String, bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
    }
}

/// One stored upload as `/index` reports it.
public struct UploadOutcome: Sendable {
    public let image: StoredImage
    public let duplicate: Bool
}

/// Uploads into the library: sniff + hash once → known bytes are not decoded or encoded again →
/// decode + thumbnail on every core → one encoder batch → each stored durably (`addUpload`). Blocking
/// and CPU-bound: call it off any async executor. Same bytes twice in one call: one row, the second
/// a duplicate; at once from two calls: the store's unique sha256 keeps it to one row.
public struct UploadIngest: Sendable {
    public let encoder: CLIPEncoder
    public let store: any LibraryStore
    public let maxPixels: Int
    /// The model's crops in, their vectors out: the encoder itself, or a server's batcher that
    /// encodes them with other requests' crops.
    public let encodeCrops: @Sendable ([RGBImage]) -> [[Float]]

    public init(encoder: CLIPEncoder, store: any LibraryStore, maxPixels: Int = ImageDecoder.defaultMaxPixels,
                encodeCrops: (@Sendable ([RGBImage]) -> [[Float]])? = nil) {
        self.encoder = encoder
        self.store = store
        self.maxPixels = maxPixels
        self.encodeCrops = encodeCrops ?? { encoder.encode(images: $0) }
    }

    /// Images decoded and encoded together.
    static let decodeBatch = 4

    /// One result per upload, in order.
    public func ingest(_ uploads: [Upload]) -> [Result<UploadOutcome, IngestError>] {
        var results = [Result<UploadOutcome, IngestError>?](repeating: nil, count: uploads.count)
        var firstWithHash: [String: Int] = [:]
        var repeats: [(index: Int, first: Int)] = []
        var fresh: [(index: Int, incoming: IncomingImage)] = []
        for (i, upload) in uploads.enumerated() {
            let incoming: IncomingImage
            do {
                incoming = try IncomingImage(name: upload.name, bytes: upload.bytes)
            } catch {
                results[i] = .failure(error)
                continue
            }
            if let first = firstWithHash[incoming.sha256] {
                repeats.append((i, first))
                continue
            }
            firstWithHash[incoming.sha256] = i
            do {
                if let outcome = try storeKnown(incoming) {
                    results[i] = .success(outcome)
                } else {
                    fresh.append((i, incoming))
                }
            } catch {
                results[i] = .failure(error)
            }
        }
        // A few at a time: a decoded photo can be hundreds of MB before it is cropped.
        for start in stride(from: 0, to: fresh.count, by: Self.decodeBatch) {
            let chunk = fresh[start..<min(start + Self.decodeBatch, fresh.count)]
            for (i, outcome) in zip(chunk.map(\.index), storeFresh(chunk.map(\.incoming))) { results[i] = outcome }
        }
        for (i, first) in repeats {
            results[i] = results[first]!.map { UploadOutcome(image: $0.image, duplicate: true) }
        }
        return results.map { $0! }
    }

    /// Bytes already stored with this model's vector: a duplicate, given its own copy of the
    /// original when the row was a file indexed in place only. nil when the bytes must be encoded.
    private func storeKnown(_ incoming: IncomingImage) throws(IngestError) -> UploadOutcome? {
        do {
            guard let existing = try store.image(sha256: incoming.sha256),
                  let vector = store.vectors.vector(of: existing.id) else { return nil }
            if existing.storedPath != nil { return UploadOutcome(image: existing, duplicate: true) }
            let kept = try store.addUpload(NewUpload(
                original: incoming.original, name: incoming.name, mime: incoming.format.mimeType,
                width: existing.width, height: existing.height, embedding: vector, thumbnailJPEG: []))
            return UploadOutcome(image: kept.image, duplicate: true)
        } catch {
            throw .store(name: incoming.name, error)
        }
    }

    private func storeFresh(_ images: [IncomingImage]) -> [Result<UploadOutcome, IngestError>] {
        guard !images.isEmpty else { return [] }
        let decoded = ResultSlots.concurrentMap(images.count) { i in
            Result { () throws(IngestError) in try DecodedImage(images[i], maxPixels: maxPixels, for: encoder) }
        }
        let ready = decoded.compactMap { try? $0.get() }
        var embeddings = (ready.isEmpty ? [] : encodeCrops(ready.map(\.crop))).makeIterator()
        return decoded.map { result in result.flatMap { store($0, embedding: embeddings.next()!) } }
    }

    private func store(_ item: DecodedImage, embedding: [Float]) -> Result<UploadOutcome, IngestError> {
        let upload = NewUpload(original: item.incoming.original, name: item.incoming.name,
                               mime: item.incoming.format.mimeType, width: item.width,
                               height: item.height, embedding: embedding, thumbnailJPEG: item.thumbnail,
                               takenAt: item.incoming.takenAt, keywords: item.incoming.keywords)
        do {
            let stored = try store.addUpload(upload)
            return .success(UploadOutcome(image: stored.image, duplicate: stored.duplicate))
        } catch {
            return .failure(.store(name: item.incoming.name, error))
        }
    }
}
