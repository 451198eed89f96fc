import CLIP
import Foundation
import LibraryStore

/// Keeping a library whole: forgetting files that are gone (`index --prune`) and giving every
/// image a vector of the current model (`index --reembed`).
public struct LibraryMaintenance: Sendable {
    public let store: any LibraryStore
    public let report: @Sendable (String) -> Void

    public init(store: any LibraryStore, report: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.report = report
    }

    /// Forgets files indexed in place that no longer exist (an upload of the same bytes keeps its
    /// row), then removes stored originals nothing references. Returns how many rows were forgotten.
    public func prune() -> Int {
        var pruned = 0
        do {
            for image in try store.indexedFiles() where !FileManager.default.fileExists(atPath: image.source) {
                if try store.forgetIndexedFile(id: image.id) { pruned += 1 }
            }
            let orphans = try store.removeOrphanedOriginals(tempFileAge: 3600)
            if !orphans.isEmpty { report("prune: removed \(orphans.count) stored originals that no image referenced") }
        } catch {
            report("prune: \(error)")
        }
        return pruned
    }

    /// Gives every stored image that lacks this model's vector one, from its original (the upload's
    /// own copy, else the file in place), `batchSize` at a time. Returns (re-embedded, failed).
    public func reembed(encoder: CLIPEncoder, batchSize: Int = 32) -> (reembedded: Int, failed: Int) {
        var counts = (reembedded: 0, failed: 0)
        var afterID: Int64 = 0
        while true {
            let pending: [StoredImage]
            do {
                pending = try store.imagesLackingEmbedding(afterID: afterID, limit: max(1, batchSize))
            } catch {
                report("reembed: \(error)")
                return counts
            }
            guard let last = pending.last else { return counts }
            afterID = last.id
            let decoded = ResultSlots.concurrentMap(pending.count) { i in decode(pending[i]) }
            var ready: [(StoredImage, RGBImage)] = []
            for (stored, result) in zip(pending, decoded) {
                switch result {
                case .success(let image): ready.append((stored, image))
                case .failure(let error): counts.failed += 1; report(error.description)
                }
            }
            for ((stored, _), embedding) in zip(ready, encoder.encode(images: ready.map(\.1))) {
                do {
                    try store.setEmbedding(id: stored.id, embedding: embedding)
                    counts.reembedded += 1
                } catch {
                    counts.failed += 1
                    report("\(stored.source): \(error)")
                }
            }
        }
    }

    private func decode(_ stored: StoredImage) -> Result<RGBImage, IngestError> {
        let bytes: [UInt8]
        do {
            guard let original = try store.original(of: stored) else {
                return .failure(.unreadable(path: stored.source, reason: "the original is gone"))
            }
            bytes = original
        } catch {
            return .failure(.store(name: stored.source, error))
        }
        do {
            return .success(try ImageDecoder.decode(bytes))
        } catch {
            return .failure(.badImage(name: stored.source, error))
        }
    }
}
