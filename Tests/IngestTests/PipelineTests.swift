import CLIP
import Foundation
import Testing
@testable import Ingest
@testable import LibraryStore

/// The tiny fixture model and images of CLIPTests, a library in a temp folder.
struct Workbench {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let images = root.appendingPathComponent("Tests/CLIPTests/Fixtures/images")
    static let encoder = loadEncoder(fastDecode: false)

    static func loadEncoder(fastDecode: Bool) -> CLIPEncoder {
        do {
            return try CLIPEncoder(modelDirectory: root.appendingPathComponent("Tests/CLIPTests/Fixtures/model/tiny-hf-f16"),
                                   fallbackVocabulary: root.appendingPathComponent("Models/bpe_simple_vocab_16e6.txt.gz"),
                                   fastDecode: fastDecode)
        } catch {
            fatalError("cannot load the fixture model: \(error)")
        }
    }

    let folder: URL
    let library: SQLiteLibrary

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("photos"), withIntermediateDirectories: true)
        library = try SQLiteLibrary(databasePath: folder.appendingPathComponent("index.sqlite").path, dataDirectory: folder,
                                    modelName: Self.encoder.name, dimension: Self.encoder.dimension)
    }

    static func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: images.appendingPathComponent(name))) }

    /// Copies a fixture image into photos/ under `name`; returns its absolute path.
    func photo(_ fixture: String, as name: String? = nil) throws -> String {
        let url = folder.appendingPathComponent("photos/\(name ?? fixture)")
        try Data(try Self.bytes(fixture)).write(to: url)
        return url.path
    }

    var uploads: UploadIngest { UploadIngest(encoder: Self.encoder, store: library) }

    func cleanup() { try? FileManager.default.removeItem(at: folder) }
}

func cosine(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

/// Lines reported by an indexer, collected across threads.
final class Reports: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

@Suite("Ingestion pipeline")
struct PipelineTests {
    @Test func uploadsInOneCallAreSniffedDedupedEncodedAndStored() throws {
        let bench = try Workbench()
        defer { bench.cleanup() }
        let jpeg = try Workbench.bytes("jpeg-exact-224x224.jpg")
        let png = try Workbench.bytes("png-rgb-tiny-50x37.png")
        let results = bench.uploads.ingest([
            Upload(name: "a.jpg", bytes: jpeg), Upload(name: "again.jpg", bytes: jpeg),
            Upload(name: "notes.txt", bytes: Array("not an image".utf8)), Upload(name: "empty.png", bytes: []),
            Upload(name: "b.png", bytes: png), Upload(name: "cut.jpg", bytes: Array(jpeg.prefix(300))),
        ])
        #expect(results.count == 6)
        let first = try results[0].get()
        #expect(!first.duplicate && first.image.source == "a.jpg" && first.image.mime == "image/jpeg")
        #expect(try results[1].get().duplicate && (try results[1].get().image.id) == first.image.id)
        for (i, expected) in [(2, CLIPError.notAnImage), (3, CLIPError.emptyImage)] {
            guard case .failure(.badImage(_, let error)) = results[i] else { Issue.record("\(results[i])"); continue }
            #expect(error == expected)
        }
        guard case .failure(.badImage("cut.jpg", _)) = results[5] else { Issue.record("\(results[5])"); return }
        let second = try results[4].get()
        #expect(second.image.mime == "image/png" && second.image.width == 50 && second.image.height == 37)
        // The stored vectors are the encoder's for the decoded images; the originals are kept.
        for (bytes, image) in [(jpeg, first.image), (png, second.image)] {
            let expected = Workbench.encoder.encode(images: [try ImageDecoder.decode(bytes)])[0]
            #expect(cosine(try #require(bench.library.vectors.vector(of: image.id)), expected) > 0.99999)
            #expect(try bench.library.original(of: image) == bytes)
            #expect(try bench.library.thumbnail(id: image.id)?.isEmpty == false)
        }
        #expect(bench.library.vectors.count == 2)
        // A later call with known bytes encodes nothing and answers the same row.
        let later = try bench.uploads.ingest([Upload(name: "c.jpg", bytes: jpeg)])[0].get()
        #expect(later.duplicate && later.image.id == first.image.id)
    }

    @Test func folderIndexerSkipsUnchangedReportsBadFilesAndCountsNonImages() throws {
        let bench = try Workbench()
        defer { bench.cleanup() }
        let paths = [try bench.photo("jpeg-gray-300x400.jpg"), try bench.photo("png-gray-250x250.png")]
        let broken = bench.folder.appendingPathComponent("photos/broken.jpg").path
        try Data(try Workbench.bytes("jpeg-gray-300x400.jpg").prefix(200)).write(to: URL(fileURLWithPath: broken))
        let text = bench.folder.appendingPathComponent("photos/readme.txt").path
        try Data("hello".utf8).write(to: URL(fileURLWithPath: text))
        let reports = Reports()
        let indexer = FolderIndexer(encoder: Workbench.encoder, store: bench.library, batchSize: 2, report: reports.add)
        let files = FileCollector.collect([bench.folder.appendingPathComponent("photos").path]).files
        #expect(files.count == 4)
        var summary = indexer.run(files: files)
        #expect(summary.indexed == 2 && summary.failed == 1 && summary.notImages == 1 && summary.skipped == 0)
        #expect(reports.all.count == 1 && reports.all[0].hasPrefix(broken))
        for path in paths { #expect(try bench.library.indexedFile(path: path) != nil) }
        // Again: nothing read anew; the copy of a known file is a duplicate, not a second row.
        let copy = try bench.photo("jpeg-gray-300x400.jpg", as: "copy.jpg")
        summary = indexer.run(files: files + [copy])
        #expect(summary.indexed == 0 && summary.skipped == 3 && summary.failed == 1 && summary.notImages == 1)
        #expect(bench.library.vectors.count == 2)
        // A stop request ends the run before the next chunk.
        #expect(indexer.run(files: files, shouldStop: { true }) == IndexSummary())
    }

    /// Chunks overlap (the next one is read and decoded while one is encoded): a stop asked while the
    /// first chunk is in hand stores that chunk and reads nothing more; the same bytes in adjacent
    /// chunks (the second copy read before the first is stored) still make one row.
    @Test func folderIndexerChunksOverlapAndStopCleanly() throws {
        let bench = try Workbench()
        defer { bench.cleanup() }
        let names = ["jpeg-exact-224x224.jpg", "png-gray-250x250.png", "jpeg-exif3-360x270.jpg",
                     "png-rgb-tiny-50x37.png", "jpeg-cmyk-320x240.jpg"]
        let paths = try names.map { try bench.photo($0) }
        let indexer = FolderIndexer(encoder: Workbench.encoder, store: bench.library, batchSize: 2,
                                    report: { Issue.record("\($0)") })
        var asked = 0
        #expect(indexer.run(files: paths, shouldStop: { asked += 1; return asked > 1 }).indexed == 2)
        #expect(bench.library.vectors.count == 2)
        for path in paths.dropFirst(2) { #expect(try bench.library.indexedFile(path: path) == nil, "\(path)") }
        let rest = indexer.run(files: paths)
        #expect(rest.indexed == 3 && rest.skipped == 2 && rest.failed == 0)
        for path in paths { #expect(try bench.library.indexedFile(path: path) != nil, "\(path)") }

        let twins = try Workbench()
        defer { twins.cleanup() }
        let pair = [try twins.photo(names[0]), try twins.photo(names[1]), try twins.photo(names[0], as: "twin.jpg")]
        let summary = FolderIndexer(encoder: Workbench.encoder, store: twins.library, batchSize: 2,
                                    report: { Issue.record("\($0)") }).run(files: pair)
        #expect(summary.failed == 0 && summary.indexed == 2)
        #expect(twins.library.vectors.count == 2)
    }

    /// An upload of a file indexed in place keeps its own original: pruning the file loses nothing.
    @Test func uploadOfAnIndexedFileSurvivesItsPrune() throws {
        let bench = try Workbench()
        defer { bench.cleanup() }
        let path = try bench.photo("jpeg-exif6-400x300.jpg")
        let other = try bench.photo("png-palette-trns-240x180.png")
        let indexer = FolderIndexer(encoder: Workbench.encoder, store: bench.library, report: { Issue.record("\($0)") })
        #expect(indexer.run(files: [path, other]).indexed == 2)
        let file = try #require(try bench.library.indexedFile(path: path))
        let bytes = try Workbench.bytes("jpeg-exif6-400x300.jpg")
        let upload = try bench.uploads.ingest([Upload(name: "holiday.jpg", bytes: bytes)])[0].get()
        #expect(upload.duplicate && upload.image.id == file.id)

        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.removeItem(atPath: other)
        let maintenance = LibraryMaintenance(store: bench.library, report: { Issue.record("\($0)") })
        #expect(maintenance.prune() == 2)
        let kept = try #require(try bench.library.image(id: file.id))
        #expect(try bench.library.original(of: kept) == bytes)
        #expect(bench.library.vectors.contains(file.id))
        #expect(bench.library.vectors.count == 1)
        #expect(try bench.library.list(offset: 0, limit: 10).total == 1)
    }

    @Test func reembedGivesEveryImageThisModelsVector() throws {
        let bench = try Workbench()
        defer { bench.cleanup() }
        // Rows stored under another model name (as after a model change) have no vector of ours.
        let old = try SQLiteLibrary(databasePath: bench.library.databasePath, dataDirectory: bench.folder,
                                    modelName: "older-model", dimension: Workbench.encoder.dimension)
        let names = ["jpeg-exact-224x224.jpg", "png-gray-250x250.png", "jpeg-exif3-360x270.jpg"]
        let stored = try UploadIngest(encoder: Workbench.encoder, store: old)
            .ingest(names.map { Upload(name: $0, bytes: try Workbench.bytes($0)) }).map { try $0.get().image }
        #expect(try bench.library.lackingEmbeddingCount() == 3)
        let (reembedded, failed) = LibraryMaintenance(store: bench.library, report: { Issue.record("\($0)") })
            .reembed(encoder: Workbench.encoder, batchSize: 2)
        #expect(reembedded == 3 && failed == 0)
        #expect(try bench.library.lackingEmbeddingCount() == 0)
        for (name, image) in zip(names, stored) {
            let expected = Workbench.encoder.encode(images: [try ImageDecoder.decode(try Workbench.bytes(name))])[0]
            #expect(cosine(try #require(bench.library.vectors.vector(of: image.id)), expected) > 0.99999)
        }
    }
}

@Suite("Ingestion limits")
struct IngestLimitTests {
    /// A file is sniffed from its first bytes before it is read whole; one that says JPEG but is
    /// larger than any image here is refused without reading it.
    @Test func hugeFilesAreRefusedFromTheirSize() throws {
        let bench = try Workbench()
        defer { bench.cleanup() }
        let path = bench.folder.appendingPathComponent("photos/huge.jpg").path
        FileManager.default.createFile(atPath: path, contents: Data([0xFF, 0xD8, 0xFF, 0xE0]))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(FolderIndexer.maxFileBytes) + 1)   // sparse: costs no disk
        try handle.close()
        let reports = Reports()
        let summary = FolderIndexer(encoder: Workbench.encoder, store: bench.library, report: reports.add).run(files: [path])
        #expect(summary.failed == 1)
        #expect(reports.all.first?.contains("more than the \(FolderIndexer.maxFileBytes)") == true, "\(reports.all)")
    }
}

@Suite("Ingestion with --fast-decode")
struct FastDecodeIngestTests {
    static let encoder = Workbench.loadEncoder(fastDecode: true)

    @Test("uploads and files record the full size and the reduced decode's vector", arguments: [false, true])
    func recordsFullSizeAndReducedVector(inPlace: Bool) throws {
        let bench = try Workbench()
        defer { bench.cleanup() }
        let encoder = Self.encoder
        let large = try Workbench.bytes("jpeg-large-2400x1800.jpg")
        let image: StoredImage
        if inPlace {
            let path = try bench.photo("jpeg-large-2400x1800.jpg")
            let summary = FolderIndexer(encoder: encoder, store: bench.library, report: { Issue.record("\($0)") }).run(files: [path])
            #expect(summary.indexed == 1)
            image = try #require(try bench.library.indexedFile(path: path))
        } else {
            image = try UploadIngest(encoder: encoder, store: bench.library).ingest([Upload(name: "large.jpg", bytes: large)])[0].get().image
        }
        #expect(image.width == 2400 && image.height == 1800)
        let reduced = try ImageDecoder.decode(large, reducingTo: 2 * encoder.preprocessor.imageSize)
        #expect(reduced.denominator == 4)
        let stored = try #require(bench.library.vectors.vector(of: image.id))
        #expect(cosine(stored, encoder.encode(images: [reduced.image])[0]) > 0.99999)
        #expect(stored != Workbench.encoder.encode(images: [try ImageDecoder.decode(large)])[0])
    }
}
