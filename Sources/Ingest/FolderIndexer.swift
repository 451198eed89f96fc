import CLIP
import Dispatch
import Foundation
import SearchIndex

/// What `index` did, printed as one JSON line at the end.
struct IndexSummary {
    var indexed = 0      // newly embedded (new files, or known ones that lacked this model's vector)
    var skipped = 0      // unchanged, or the same bytes already stored under another path
    var moved = 0        // known bytes at a new path, the old one gone: row kept, no encoding
    var failed = 0       // unreadable or corrupt, reported on stderr
    var pruned = 0       // rows whose files are gone (--prune)
    var notImages = 0    // neither JPEG nor PNG: skipped quietly
    var reembedded = 0   // images outside PATH... given this model's vector (--reembed)

    var json: String {
        #"{"indexed":\#(indexed),"skipped":\#(skipped),"moved":\#(moved),"failed":\#(failed),"pruned":\#(pruned),"not_images":\#(notImages),"reembedded":\#(reembedded)}"#
    }
}

/// The work of `clip-server index`: walks files in chunks of `batchSize`; per chunk, reads, hashes,
/// decodes and thumbnails the files on every core, encodes the new images as one batch, then
/// stores them. Files whose path, size and mtime are unchanged are not read; known bytes (by
/// sha256) are not decoded or encoded again. One bad file is reported and skipped.
struct FolderIndexer: Sendable {
    let encoder: CLIPEncoder
    let index: ImageIndex
    let batchSize: Int
    let report: @Sendable (String) -> Void

    /// One file after the parallel step.
    private enum Prepared: Sendable {
        case unchanged
        case notImage
        case failed(String)
        /// Bytes already stored with this model's embedding: record the path, no encoding.
        case known(sha256: String, byteSize: Int, mtime: Double)
        case decoded(NewImage)
    }

    private struct NewImage: Sendable {
        let path: String
        let sha256: String
        let mime: String
        let byteSize: Int
        let mtime: Double
        let image: RGBImage
        let thumbnail: [UInt8]
        /// The bytes were stored before (another model's vector only): this is a re-embedding.
        let knownWithoutEmbedding: Bool
    }

    /// `progress` gets the number of files done so far (a bar for `index`, log lines for `serve`).
    func run(files: [String], progress: @Sendable (Int) -> Void, summary: inout IndexSummary) {
        var done = 0
        for start in stride(from: 0, to: files.count, by: batchSize) {
            let chunk = Array(files[start..<min(start + batchSize, files.count)])
            // The bar moves as files are read and decoded; the batch's encode follows.
            let before = done
            let prepared = prepareConcurrently(chunk) { finished in progress(before + finished) }
            var fresh: [NewImage] = []
            for (path, item) in zip(chunk, prepared) {
                switch item {
                case .unchanged:
                    summary.skipped += 1
                case .notImage:
                    summary.notImages += 1
                case .failed(let message):
                    summary.failed += 1
                    report("\(path): \(message)")
                case .known(let sha256, let byteSize, let mtime):
                    do {
                        if let (_, change) = try index.relocateFile(path: path, sha256: sha256, byteSize: byteSize, mtime: mtime) {
                            if case .moved = change { summary.moved += 1 } else { summary.skipped += 1 }
                        } else {
                            summary.failed += 1
                            report("\(path): its stored copy was deleted while indexing; run index again")
                        }
                    } catch {
                        summary.failed += 1
                        report("\(path): \(error)")
                    }
                case .decoded(let image):
                    fresh.append(image)
                }
            }
            let embeddings = encoder.encode(images: fresh.map(\.image))
            let entries = zip(fresh, embeddings).map { item, embedding in
                FileEntry(path: item.path, sha256: item.sha256, mime: item.mime, width: item.image.width,
                          height: item.image.height, byteSize: item.byteSize, mtime: item.mtime,
                          embedding: embedding, thumbnailJPEG: item.thumbnail)
            }
            // One transaction per batch; if it fails, file by file so one bad entry fails alone.
            var outcomes: [Result<FileChange, SearchIndexError>]
            do {
                outcomes = try index.indexFiles(entries).map { .success($0.change) }
            } catch {
                outcomes = entries.map { entry in
                    Result { () throws(SearchIndexError) in try index.indexFiles([entry])[0].change }
                }
            }
            for (item, outcome) in zip(fresh, outcomes) {
                switch outcome {
                case .success(.inserted): summary.indexed += 1
                case .success(.moved): summary.moved += 1
                case .success:
                    if item.knownWithoutEmbedding { summary.indexed += 1 } else { summary.skipped += 1 }
                case .failure(let error):
                    summary.failed += 1
                    report("\(item.path): \(error)")
                }
            }
            done += chunk.count
            progress(done)
        }
    }

    /// Reads, hashes, decodes and thumbnails one chunk, spread over the cores.
    private func prepareConcurrently(_ chunk: [String], finished: @Sendable (Int) -> Void) -> [Prepared] {
        let results = ResultSlots<Prepared>(count: chunk.count)
        DispatchQueue.concurrentPerform(iterations: chunk.count) { i in
            finished(results.set(i, prepare(chunk[i])))
        }
        return results.values.map { $0 ?? .failed("not processed") }
    }

    private func prepare(_ path: String) -> Prepared {
        let size: Int, mtime: Double
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            size = (attributes[.size] as? NSNumber)?.intValue ?? 0
            mtime = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        } catch {
            return .failed("cannot read: \(error.localizedDescription)")
        }
        do {
            if let row = try index.indexedFile(path: path), row.byteSize == size, row.fileMtime == mtime,
               index.hasEmbedding(id: row.id) {
                return .unchanged
            }
        } catch {
            return .failed("\(error)")
        }
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            return .failed("cannot read: \(error.localizedDescription)")
        }
        guard let format = ImageFormat(sniffing: bytes) else { return .notImage }
        let sha256 = ContentHash.sha256Hex(bytes)
        var knownWithoutEmbedding = false
        do {
            if let stored = try index.image(sha256: sha256) {
                if index.hasEmbedding(id: stored.id) { return .known(sha256: sha256, byteSize: bytes.count, mtime: mtime) }
                knownWithoutEmbedding = true
            }
        } catch {
            return .failed("\(error)")
        }
        do {
            let image = try ImageDecoder.decode(bytes)
            let thumbnail = try Thumbnailer.jpeg(from: image)
            return .decoded(NewImage(path: path, sha256: sha256, mime: format.mimeType, byteSize: bytes.count,
                                     mtime: mtime, image: image, thumbnail: thumbnail,
                                     knownWithoutEmbedding: knownWithoutEmbedding))
        } catch {
            return .failed("\(error)")
        }
    }

    /// `--prune`: removes rows of indexed files that no longer exist.
    func prune(summary: inout IndexSummary) {
        do {
            for image in try index.indexedFiles() where !FileManager.default.fileExists(atPath: image.source) {
                if try index.delete(id: image.id) { summary.pruned += 1 }
            }
            let orphans = try index.removeOrphanedOriginals()
            if !orphans.isEmpty { report("prune: removed \(orphans.count) stored originals that no image referenced") }
        } catch {
            report("prune: \(error)")
        }
    }

    /// `--reembed`: gives every stored image that lacks this model's vector one, from its original
    /// (the data folder's copy of an upload, the path of an indexed file).
    func reembed(summary: inout IndexSummary) {
        var seen = Set<Int64>()
        while true {
            let pending: [StoredImage]
            do {
                pending = try index.imagesLackingEmbedding(limit: batchSize + seen.count).filter { !seen.contains($0.id) }
            } catch {
                report("reembed: \(error)")
                return
            }
            guard !pending.isEmpty else { return }
            let results = ResultSlots<Result<(RGBImage, [UInt8]), CLIPError>>(count: pending.count)
            DispatchQueue.concurrentPerform(iterations: pending.count) { i in
                results[i] = Result { () throws(CLIPError) in
                    let image = try ImageDecoder.decode(contentsOf: index.originalURL(of: pending[i]))
                    return (image, try Thumbnailer.jpeg(from: image))
                }
            }
            var ready: [(StoredImage, RGBImage)] = []
            for (stored, result) in zip(pending, results.values) {
                seen.insert(stored.id)
                switch result {
                case .success(let (image, _)): ready.append((stored, image))
                case .failure(let error): summary.failed += 1; report("\(stored.source): \(error)")
                case nil: break
                }
            }
            for ((stored, _), embedding) in zip(ready, encoder.encode(images: ready.map(\.1))) {
                do {
                    try index.setEmbedding(id: stored.id, embedding: embedding)
                    summary.reembedded += 1
                } catch {
                    summary.failed += 1
                    report("\(stored.source): \(error)")
                }
            }
        }
    }
}

/// Fixed slots written by concurrent iterations, each index by exactly one of them.
final class ResultSlots<Value>: @unchecked Sendable {
    private var storage: [Value?]
    private let lock = NSLock()

    init(count: Int) { storage = Array(repeating: nil, count: count) }

    subscript(index: Int) -> Value? {
        get { lock.withLock { storage[index] } }
        set { lock.withLock { storage[index] = newValue } }
    }

    var values: [Value?] { lock.withLock { storage } }

    /// Stores a value and returns how many slots are filled now.
    func set(_ index: Int, _ value: Value) -> Int {
        lock.withLock {
            storage[index] = value
            filled += 1
            return filled
        }
    }

    private var filled = 0
}
