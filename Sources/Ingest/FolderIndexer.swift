import CLIP
import Dispatch
import Foundation
import LibraryStore

/// Files indexed in place (`clip-server index`, the demo gallery, later `serve --library`): in
/// chunks of `batchSize`, each chunk read, sniffed, hashed, decoded and thumbnailed on every core,
/// its new images encoded as one batch and stored in one transaction. A file whose path, size and
/// mtime are unchanged is not read; known bytes (by sha256) are not decoded or encoded again. One
/// bad file is reported and skipped.
public struct FolderIndexer: Sendable {
    public let encoder: CLIPEncoder
    public let store: any LibraryStore
    public let batchSize: Int
    /// Told about each file that failed, as one line naming it.
    public let report: @Sendable (String) -> Void

    public init(encoder: CLIPEncoder, store: any LibraryStore, batchSize: Int = 32,
                report: @escaping @Sendable (String) -> Void) {
        self.encoder = encoder
        self.store = store
        self.batchSize = max(1, batchSize)
        self.report = report
    }

    /// Largest file read as an image (a 64-megapixel JPEG is far smaller).
    static let maxFileBytes = 512 << 20

    /// One file after the parallel step.
    private enum Prepared: Sendable {
        case unchanged
        case notImage
        case failed(IngestError)
        /// Bytes already stored with this model's vector: record the path, no encoding.
        case known(sha256: String, byteSize: Int, mtime: Double)
        /// To encode; `reembedding` when the bytes were stored before without this model's vector.
        case decoded(DecodedImage, mtime: Double, reembedding: Bool)
    }

    /// Indexes `files` (absolute paths). `progress` gets the number of files read and decoded so far;
    /// before each chunk is read `shouldStop` is asked whether to end early (a server shutting down):
    /// then the chunk in hand is still stored, and nothing more is read.
    ///
    /// Two stages overlap: while one chunk is encoded and stored, the next is read and decoded on
    /// a thread of its own, so the cores the encoder leaves idle (its serial steps, the store's
    /// transaction, a decode's last straggler) go to the next chunk. Bytes that repeat across two
    /// adjacent chunks are then encoded twice; the store keeps one row per sha256 all the same.
    public func run(files: [String], progress: @escaping @Sendable (Int) -> Void = { _ in },
                    shouldStop: () -> Bool = { false }) -> IndexSummary {
        var summary = IndexSummary()
        let starts = Array(stride(from: 0, to: files.count, by: batchSize))
        // Chunk `index`, read and decoded on a thread of its own from now on.
        let prepare = { (index: Int) in
            let start = starts[index]
            return PreparedChunk(self, Array(files[start..<min(start + batchSize, files.count)]), before: start, progress: progress)
        }
        guard !starts.isEmpty, !shouldStop() else { return summary }
        var next: PreparedChunk? = prepare(0)
        for index in starts.indices {
            guard let current = next else { break }
            let prepared = current.wait()
            next = index + 1 < starts.count && !shouldStop() ? prepare(index + 1) : nil
            var fresh: [(DecodedImage, mtime: Double, reembedding: Bool)] = []
            for (path, item) in zip(current.paths, prepared) {
                switch item {
                case .unchanged: summary.skipped += 1
                case .notImage: summary.notImages += 1
                case .failed(let error): fail(error, &summary)
                case .known(let sha256, let byteSize, let mtime):
                    recordKnown(path: path, sha256: sha256, byteSize: byteSize, mtime: mtime, &summary)
                case .decoded(let image, let mtime, let reembedding): fresh.append((image, mtime, reembedding))
                }
            }
            storeFresh(fresh, &summary)
        }
        return summary
    }

    /// One chunk read, sniffed, hashed and decoded on every core, started on a thread of its own.
    private final class PreparedChunk: @unchecked Sendable {
        let paths: [String]
        private var result: [Prepared] = []
        private let done = DispatchSemaphore(value: 0)

        init(_ indexer: FolderIndexer, _ paths: [String], before: Int, progress: @escaping @Sendable (Int) -> Void) {
            self.paths = paths
            let thread = Thread { [self] in
                result = ResultSlots.concurrentMap(paths.count, finished: { progress(before + $0) }) { indexer.prepare(paths[$0]) }
                done.signal()
            }
            thread.name = "clip-index-prepare"
            thread.start()
        }

        /// The chunk's files in order, once prepared (call once).
        func wait() -> [Prepared] {
            done.wait()
            return result
        }
    }

    private func fail(_ error: IngestError, _ summary: inout IndexSummary) {
        summary.failed += 1
        report(error.description)
    }

    private func recordKnown(path: String, sha256: String, byteSize: Int, mtime: Double, _ summary: inout IndexSummary) {
        do {
            guard let (_, change) = try store.relocateFile(path: path, sha256: sha256, byteSize: byteSize, mtime: mtime) else {
                return fail(.vanished(path: path), &summary)
            }
            if case .moved = change { summary.moved += 1 } else { summary.skipped += 1 }
        } catch {
            fail(.store(name: path, error), &summary)
        }
    }

    private func storeFresh(_ fresh: [(image: DecodedImage, mtime: Double, reembedding: Bool)], _ summary: inout IndexSummary) {
        guard !fresh.isEmpty else { return }
        let embeddings = encoder.encode(images: fresh.map(\.image.crop))
        let entries = zip(fresh, embeddings).map { item, embedding in
            FileEntry(path: item.image.incoming.name, sha256: item.image.incoming.sha256,
                      mime: item.image.incoming.format.mimeType, width: item.image.width,
                      height: item.image.height, byteSize: item.image.incoming.original.bytes.count,
                      mtime: item.mtime, embedding: embedding, thumbnailJPEG: item.image.thumbnail,
                      takenAt: item.image.incoming.takenAt, keywords: item.image.incoming.keywords)
        }
        // One transaction per chunk; if it fails, file by file so one bad entry fails alone.
        var outcomes: [Result<FileChange, LibraryStoreError>]
        do {
            outcomes = try store.indexFiles(entries).map { .success($0.change) }
        } catch {
            outcomes = entries.map { entry in
                Result { () throws(LibraryStoreError) in try store.indexFiles([entry])[0].change }
            }
        }
        for (item, outcome) in zip(fresh, outcomes) {
            switch outcome {
            case .success(.inserted): summary.indexed += 1
            case .success(.moved): summary.moved += 1
            case .success: if item.reembedding { summary.indexed += 1 } else { summary.skipped += 1 }
            case .failure(let error): fail(.store(name: item.image.incoming.name, error), &summary)
            }
        }
    }

    /// Reads, sniffs, hashes and decodes one file (on a worker thread).
    private func prepare(_ path: String) -> Prepared {
        let size: Int, mtime: Double
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            size = (attributes[.size] as? NSNumber)?.intValue ?? 0
            mtime = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        } catch {
            return .failed(.unreadable(path: path, reason: error.localizedDescription))
        }
        do {
            if let row = try store.indexedFile(path: path), row.byteSize == size, row.fileMtime == mtime,
               store.vectors.contains(row.id) {
                return .unchanged
            }
        } catch {
            return .failed(.store(name: path, error))
        }
        let incoming: IncomingImage
        do {
            // The first bytes decide; a large file that is no image is never read whole.
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            let head = [UInt8](try handle.read(upToCount: 16) ?? Data())
            guard ImageFormat(sniffing: head) != nil else { return .notImage }
            guard size <= Self.maxFileBytes else {
                return .failed(.unreadable(path: path, reason: "\(size) bytes is more than the \(Self.maxFileBytes) an image may have here"))
            }
            let rest = [UInt8](try handle.readToEnd() ?? Data())
            incoming = try IncomingImage(name: path, bytes: head + rest)
        } catch let error as IngestError {
            return .failed(error)
        } catch {
            return .failed(.unreadable(path: path, reason: error.localizedDescription))
        }
        var reembedding = false
        do {
            if let stored = try store.image(sha256: incoming.sha256) {
                if store.vectors.contains(stored.id) {
                    return .known(sha256: incoming.sha256, byteSize: incoming.original.bytes.count, mtime: mtime)
                }
                reembedding = true
            }
        } catch {
            return .failed(.store(name: path, error))
        }
        do {
            return .decoded(try DecodedImage(incoming, maxPixels: ImageDecoder.defaultMaxPixels, for: encoder), mtime: mtime,
                            reembedding: reembedding)
        } catch {
            return .failed(error)
        }
    }
}
