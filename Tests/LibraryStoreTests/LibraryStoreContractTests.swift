import Foundation
import Testing
@testable import LibraryStore
import SearchIndex

/// What every `LibraryStore` guarantees, run against each implementation (`StoreKind.available`:
/// SQLite, and PostgreSQL when a test server is set). What only one of them does (files under the
/// data folder, the orphan sweep) is tested in its own suite.
@Suite("Library store contract")
struct LibraryStoreContractTests {
    @Test(arguments: StoreKind.available) func sameBytesTwiceGiveOneRow(_ kind: StoreKind) async throws {
        let store = try await StoreFixture(kind)
        defer { store.cleanup() }
        let index = try store.open()
        let first = try index.upload(fakeImageBytes(7), [1, 0, 0, 0, 0, 0, 0, 0], name: "a.jpg")
        let second = try index.upload(fakeImageBytes(7), [0, 1, 0, 0, 0, 0, 0, 0], name: "b.jpg")
        #expect(!first.duplicate)
        #expect(second.duplicate)
        #expect(second.image == first.image)
        #expect(try index.list(offset: 0, limit: 10).total == 1)
        #expect(index.count == 1)
        // The first embedding is kept.
        #expect(index.embedding(id: first.image.id) == [1, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test(arguments: StoreKind.available) func concurrentDuplicateUploadsMakeOneRow(_ kind: StoreKind) async throws {
        let store = try await StoreFixture(kind)
        defer { store.cleanup() }
        // Two handles on one library: two processes on one SQLite file, two servers on one PostgreSQL.
        let handles = [try store.open(), try store.open()]
        let bytes = fakeImageBytes(42)
        let results = try await withThrowingTaskGroup(of: (StoredImage, Bool).self) { group in
            for i in 0..<16 {
                let handle = handles[i % 2]
                group.addTask {
                    var v = [Float](repeating: 0, count: 8)
                    v[i % 8] = 1
                    let r = try handle.upload(bytes, v, name: "copy-\(i).jpg")
                    return (r.image, r.duplicate)
                }
            }
            var all: [(StoredImage, Bool)] = []
            for try await r in group { all.append(r) }
            return all
        }
        #expect(Set(results.map { $0.0.id }).count == 1)
        #expect(results.filter { !$0.1 }.count == 1)
        for handle in handles {
            _ = try handle.refresh()
            #expect(try handle.list(offset: 0, limit: 100).total == 1)
            #expect(handle.count == 1)
            #expect(try handle.original(of: results[0].0) == bytes)
        }
        #expect(handles[0].embedding(id: results[0].0.id) == handles[1].embedding(id: results[0].0.id))
        if kind == .sqlite {
            let sha = ContentHash.sha256Hex(bytes)
            let folder = store.folder.appendingPathComponent("originals/\(sha.prefix(2))")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == [sha])
        }
    }

    @Test(arguments: StoreKind.available) func wrongHashAndWrongDimensionAreTypedErrors(_ kind: StoreKind) async throws {
        let store = try await StoreFixture(kind)
        defer { store.cleanup() }
        let index = try store.open(dimension: 8)
        let bytes = fakeImageBytes(3)
        #expect(throws: LibraryStoreError.vector(.dimensionMismatch(what: "embedding of x.jpg", expected: 8, actual: 3))) {
            try index.upload(bytes, [1, 2, 3], name: "x.jpg")
        }
        // A hash that could steer a path is refused for files in place (uploads hash their own bytes).
        #expect(throws: LibraryStoreError.self) {
            try index.indexFiles([FileEntry(path: "/x.jpg", sha256: "../../etc/passwd", mime: "image/jpeg", width: 1, height: 1,
                                            byteSize: 1, mtime: 1, embedding: [Float](repeating: 1, count: 8), thumbnailJPEG: [])])
        }
        #expect(throws: LibraryStoreError.vector(.invalidEmbedding("embedding of z.jpg is all zeros or holds NaN or infinity"))) {
            try index.upload(bytes, [Float](repeating: 0, count: 8), name: "z.jpg")
        }
        #expect(throws: LibraryStoreError.vector(.dimensionMismatch(what: "query", expected: 8, actual: 4))) {
            try index.search([1, 2, 3, 4], k: 1)
        }
        #expect(try index.list(offset: 0, limit: 10).total == 0)
    }

    @Test(arguments: StoreKind.available) func listIsNewestFirstAndPages(_ kind: StoreKind) async throws {
        let store = try await StoreFixture(kind)
        defer { store.cleanup() }
        let index = try store.open()
        var rng = SplitMix64(seed: 9)
        let ids = try (0..<7).map { try index.upload(fakeImageBytes($0), randomVector(8, &rng)).image.id }
        let newestFirst = Array(ids.reversed())
        let page1 = try index.list(offset: 0, limit: 3)
        let page2 = try index.list(offset: 3, limit: 3)
        let page3 = try index.list(offset: 6, limit: 3)
        #expect(page1.total == 7 && page2.total == 7 && page3.total == 7)
        #expect(page1.images.map(\.id) == Array(newestFirst[0..<3]))
        #expect(page2.images.map(\.id) == Array(newestFirst[3..<6]))
        #expect(page3.images.map(\.id) == [newestFirst[6]])
        #expect(try index.list(offset: 10, limit: 3).images.isEmpty)
        #expect(throws: LibraryStoreError.self) { try index.list(offset: -1, limit: 3) }
    }

    @Test(arguments: StoreKind.available) func searchMatchesBruteForceWithOffsetAndMinScore(_ kind: StoreKind) async throws {
        let store = try await StoreFixture(kind)
        defer { store.cleanup() }
        let dim = 16
        let index = try store.open(dimension: dim)
        var rng = SplitMix64(seed: 1234)
        var vectors: [Int64: [Float]] = [:]
        for i in 0..<300 {
            let v = randomVector(dim, &rng)
            vectors[try index.upload(fakeImageBytes(i), v).image.id] = v
        }
        // Some exact ties: the same direction under two ids, scaled differently.
        let tie = randomVector(dim, &rng)
        vectors[try index.upload(fakeImageBytes(1000), tie).image.id] = tie
        vectors[try index.upload(fakeImageBytes(1001), tie.map { $0 * 3 }).image.id] = tie.map { $0 * 3 }

        for q in 0..<20 {
            let query = q == 0 ? tie.map { $0 * 0.5 } : randomVector(dim, &rng)
            let reference = bruteForceRanking(query: query, vectors: vectors)
            let (hits, total) = try index.search(query, k: 25)
            #expect(total == vectors.count)
            #expect(hits.count == 25)
            for (hit, ref) in zip(hits, reference) {
                #expect(abs(Double(hit.score) - ref.score) < 1e-5)
            }
            // Same order except where scores are within float rounding of each other.
            for (i, (hit, ref)) in zip(hits, reference).enumerated() where hit.image.id != ref.id {
                let neighbours = reference[max(0, i - 1)...min(reference.count - 1, i + 1)]
                #expect(neighbours.contains { $0.id == hit.image.id && abs($0.score - ref.score) < 1e-6 })
            }
            // Offset = the same list shifted.
            let shifted = try index.search(query, k: 10, offset: 5)
            #expect(shifted.hits.map(\.image.id) == hits[5..<15].map(\.image.id))
            #expect(shifted.total == total)
            // minScore filters and counts.
            let threshold = Float(reference[40].score)
            let filtered = try index.search(query, k: 1000, minScore: threshold)
            let expectedCount = reference.filter { Float($0.score) >= threshold }.count
            #expect(abs(filtered.total - expectedCount) <= 1)
            #expect(filtered.hits.count == filtered.total)
            #expect(filtered.hits.allSatisfy { $0.score >= threshold })
        }
        // The two tied rows: lower id first.
        let tied = try index.search(tie, k: 2).hits
        #expect(tied.count == 2)
        #expect(tied[0].image.id < tied[1].image.id)
        #expect(tied[0].score == tied[1].score)
        // k = 0, k beyond the count, offset beyond the end.
        #expect(try index.search(tie, k: 0).hits.isEmpty)
        #expect(try index.search(tie, k: 1000).hits.count == vectors.count)
        #expect(try index.search(tie, k: 10, offset: 5000).hits.isEmpty)
        #expect(throws: LibraryStoreError.self) { try index.search(tie, k: -1) }
    }

    @Test(arguments: StoreKind.available) func searchOfEmptyIndex(_ kind: StoreKind) async throws {
        let store = try await StoreFixture(kind)
        defer { store.cleanup() }
        let index = try store.open()
        let result = try index.search([Float](repeating: 1, count: 8), k: 10)
        #expect(result.hits.isEmpty && result.total == 0)
    }

    @Test(arguments: StoreKind.available) func modelNamesNeverMix(_ kind: StoreKind) async throws {
        let store = try await StoreFixture(kind)
        defer { store.cleanup() }
        var rng = SplitMix64(seed: 77)
        let indexA = try store.open(model: "model-a", dimension: 8)
        let a = try (0..<3).map { try indexA.upload(fakeImageBytes($0), randomVector(8, &rng)).image }
        // Another model over the same database sees the rows, not the vectors.
        let indexB = try store.open(model: "model-b", dimension: 4)
        #expect(indexB.count == 0)
        #expect(try indexB.search([1, 0, 0, 0], k: 10).hits.isEmpty)
        #expect(try indexB.lackingEmbeddingCount() == 3)
        #expect(try indexB.imagesLackingEmbedding(afterID: 0, limit: 10).map(\.id) == a.map(\.id))
        // Re-embedding for model-b: the same upload again fills in its vector.
        let again = try indexB.upload(fakeImageBytes(0), [0, 0, 1, 0])
        #expect(again.duplicate && again.image.id == a[0].id)
        try indexB.setEmbedding(id: a[1].id, embedding: [0, 1, 0, 0])
        #expect(indexB.count == 2)
        #expect(try indexB.lackingEmbeddingCount() == 1)
        #expect(try indexB.search([0, 1, 0, 0], k: 1).hits.first?.image.id == a[1].id)
        #expect(throws: LibraryStoreError.unknownImage(id: 999)) { try indexB.setEmbedding(id: 999, embedding: [1, 0, 0, 0]) }
        // model-a is untouched.
        let reopenedA = try store.open(model: "model-a", dimension: 8)
        #expect(reopenedA.count == 3)
        #expect(try reopenedA.lackingEmbeddingCount() == 0)
        #expect(try store.open(model: "model-b", dimension: 4).count == 2)
    }

    @Test(arguments: StoreKind.available) func reopeningGivesSameIdsAndResults(_ kind: StoreKind) async throws {
        let store = try await StoreFixture(kind)
        defer { store.cleanup() }
        var rng = SplitMix64(seed: 2024)
        let queries = (0..<5).map { _ in randomVector(8, &rng) }
        var before: [[Int64]] = []
        var beforeScores: [[Float]] = []
        var listed: [StoredImage] = []
        do {
            let index = try store.open()
            for i in 0..<50 { try index.upload(fakeImageBytes(i), randomVector(8, &rng)) }
            _ = try index.delete(id: 10)
            for q in queries {
                let hits = try index.search(q, k: 10).hits
                before.append(hits.map(\.image.id))
                beforeScores.append(hits.map(\.score))
            }
            listed = try index.list(offset: 0, limit: 100).images
        }
        let reopened = try store.open()
        #expect(reopened.count == 49)
        #expect(try reopened.list(offset: 0, limit: 100).images == listed)
        for (i, q) in queries.enumerated() {
            let hits = try reopened.search(q, k: 10).hits
            #expect(hits.map(\.image.id) == before[i])
            #expect(hits.map(\.score) == beforeScores[i])
        }
    }

    @Test(arguments: StoreKind.available) func storedDimensionMismatchOnOpen(_ kind: StoreKind) async throws {
        let store = try await StoreFixture(kind)
        defer { store.cleanup() }
        let id: Int64
        do {
            let index = try store.open(model: "m", dimension: 8)
            id = try index.upload(fakeImageBytes(1), [Float](repeating: 1, count: 8)).image.id
        }
        #expect(throws: LibraryStoreError.vector(.dimensionMismatch(what: "stored embedding of image \(id) for model m", expected: 4, actual: 8))) {
            try store.open(model: "m", dimension: 4)
        }
    }

    @Test(arguments: StoreKind.available) func movedFileKeepsItsEmbeddingAndId(_ kind: StoreKind) async throws {
        let store = try await StoreFixture(kind)
        defer { store.cleanup() }
        let index = try store.open()
        let photos = store.folder.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        let oldPath = photos.appendingPathComponent("a.jpg").path
        let newPath = photos.appendingPathComponent("b.jpg").path
        let bytes = fakeImageBytes(5)
        try Data(bytes).write(to: URL(fileURLWithPath: oldPath))
        let sha = ContentHash.sha256Hex(bytes)
        let vector: [Float] = [0, 0, 0, 1, 0, 0, 0, 0]
        let (image, change) = try index.indexFile(path: oldPath, sha256: sha, mime: "image/jpeg", width: 4, height: 3,
                                                  byteSize: bytes.count, mtime: 100, embedding: vector, thumbnailJPEG: [1])
        #expect(change == .inserted)
        #expect(image.storedPath == nil && image.fileMtime == 100)
        #expect(try index.original(of: image) == bytes)
        #expect(try index.indexedFile(path: oldPath) == image)
        // Nothing was copied into the data folder.
        #expect(!FileManager.default.fileExists(atPath: store.folder.appendingPathComponent("originals").path))

        // Same path again: unchanged; touched: refreshed.
        #expect(try index.relocateFile(path: oldPath, sha256: sha, byteSize: bytes.count, mtime: 100)?.change == .unchanged)
        #expect(try index.relocateFile(path: oldPath, sha256: sha, byteSize: bytes.count, mtime: 200)?.change == .refreshed)

        // A copy while the original is still there: one row, reported as a duplicate.
        try Data(bytes).write(to: URL(fileURLWithPath: newPath))
        #expect(try index.relocateFile(path: newPath, sha256: sha, byteSize: bytes.count, mtime: 300)?.change == .duplicateOf(oldPath))

        // The original goes away: a move. Same id, same embedding, new source and mtime.
        try FileManager.default.removeItem(atPath: oldPath)
        let moved = try index.indexFile(path: newPath, sha256: sha, mime: "image/jpeg", width: 4, height: 3,
                                      byteSize: bytes.count, mtime: 300, embedding: [1, 0, 0, 0, 0, 0, 0, 0], thumbnailJPEG: [1])
        #expect(moved.change == .moved(from: oldPath))
        #expect(moved.image.id == image.id)
        #expect(moved.image.source == newPath && moved.image.fileMtime == 300)
        #expect(index.embedding(id: image.id) == vector)
        #expect(try index.indexedFile(path: oldPath) == nil)
        #expect(try index.list(offset: 0, limit: 10).total == 1)
        #expect(try index.indexedFiles().map(\.source) == [newPath])
    }

    @Test(arguments: StoreKind.available) func overwrittenFileReplacesItsRow(_ kind: StoreKind) async throws {
        let store = try await StoreFixture(kind)
        defer { store.cleanup() }
        let index = try store.open()
        let path = store.folder.appendingPathComponent("x.png").path
        let first = try index.indexFile(path: path, sha256: ContentHash.sha256Hex(fakeImageBytes(1)), mime: "image/png",
                                        width: 1, height: 1, byteSize: 10, mtime: 1,
                                        embedding: [1, 0, 0, 0, 0, 0, 0, 0], thumbnailJPEG: [])
        let second = try index.indexFile(path: path, sha256: ContentHash.sha256Hex(fakeImageBytes(2)), mime: "image/png",
                                         width: 1, height: 1, byteSize: 11, mtime: 2,
                                         embedding: [0, 1, 0, 0, 0, 0, 0, 0], thumbnailJPEG: [])
        #expect(second.change == .inserted)
        #expect(try index.image(id: first.image.id) == nil)
        #expect(index.count == 1)
        #expect(try index.search([1, 0, 0, 0, 0, 0, 0, 0], k: 5).hits.map(\.image.id) == [second.image.id])
        // An unknown sha256 cannot be relocated without an embedding.
        #expect(try index.relocateFile(path: path, sha256: ContentHash.sha256Hex(fakeImageBytes(3)), byteSize: 1, mtime: 1) == nil)
        #expect(throws: LibraryStoreError.self) {
            try index.relocateFile(path: "relative/path.png", sha256: ContentHash.sha256Hex(fakeImageBytes(3)), byteSize: 1, mtime: 1)
        }
    }

    @Test(arguments: StoreKind.available) func batchOfFilesIsOneTransactionInOrder(_ kind: StoreKind) async throws {
        let store = try await StoreFixture(kind)
        defer { store.cleanup() }
        let index = try store.open()
        func entry(_ name: String, _ seed: Int, _ axis: Int) -> FileEntry {
            var v = [Float](repeating: 0, count: 8)
            v[axis] = 1
            return FileEntry(path: store.folder.appendingPathComponent(name).path,
                             sha256: ContentHash.sha256Hex(fakeImageBytes(seed)), mime: "image/jpeg", width: 2, height: 2,
                             byteSize: 10, mtime: 1, embedding: v, thumbnailJPEG: [])
        }
        // a.jpg, a copy of it at b.jpg (a.jpg is not on disk, so that is a move), c.jpg, then a.jpg
        // overwritten with new content.
        let results = try index.indexFiles([entry("a.jpg", 1, 0), entry("b.jpg", 1, 1), entry("c.jpg", 2, 2), entry("a.jpg", 3, 3)])
        #expect(results.map(\.change) == [.inserted, .moved(from: store.folder.appendingPathComponent("a.jpg").path), .inserted, .inserted])
        #expect(results[1].image.id == results[0].image.id)
        #expect(index.count == 3)
        // The first vector was kept for the moved row.
        #expect(index.embedding(id: results[0].image.id) == [1, 0, 0, 0, 0, 0, 0, 0])
        #expect(try index.list(offset: 0, limit: 10).total == 3)
        // A bad entry fails the whole batch before anything is written.
        var bad = entry("d.jpg", 4, 0)
        bad.embedding = [1, 2]
        #expect(throws: LibraryStoreError.self) { try index.indexFiles([entry("e.jpg", 5, 0), bad]) }
        #expect(try index.list(offset: 0, limit: 10).total == 3)
    }

    @Test(arguments: StoreKind.available) func searchesRunWhileInsertingAndDeleting(_ kind: StoreKind) async throws {
        let store = try await StoreFixture(kind)
        defer { store.cleanup() }
        let dim = 32
        let index = try store.open(dimension: dim)
        var rng = SplitMix64(seed: 31)
        let seedVectors = (0..<200).map { _ in randomVector(dim, &rng) }
        for (i, v) in seedVectors.enumerated() { try index.upload(fakeImageBytes(i), v) }
        let probe = seedVectors[17]
        let probeId = try #require(index.search(probe, k: 1).hits.first?.image.id)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var rng = SplitMix64(seed: 32)
                for i in 200..<400 {
                    let id = try index.upload(fakeImageBytes(i), randomVector(dim, &rng)).image.id
                    if i % 3 == 0 { _ = try index.delete(id: id) }
                }
            }
            for _ in 0..<3 {
                group.addTask {
                    for _ in 0..<200 {
                        let (hits, total) = try index.search(probe, k: 5)
                        // The probe's own row is never touched: it stays first with score 1.
                        guard hits.first?.image.id == probeId, abs(hits[0].score - 1) < 1e-5, total >= 200 else {
                            Issue.record("search during writes returned \(hits.map(\.image.id)), total \(total)")
                            return
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let expected = 200 + (200..<400).filter { $0 % 3 != 0 }.count
        #expect(index.count == expected)
        #expect(try index.list(offset: 0, limit: 1).total == expected)
    }

    @Test(arguments: StoreKind.available) func fullTextAndFiltersReadHostileStringsAsPlainWords(_ kind: StoreKind) async throws {
        let store = try await StoreFixture(kind)
        defer { store.cleanup() }
        let index = try store.open()
        let day: Double = 86_400
        func entry(_ path: String, _ seed: Int, taken: Double, keywords: [String] = []) -> FileEntry {
            var v = [Float](repeating: 0, count: 8)
            v[seed % 8] = 1
            return FileEntry(path: path, sha256: ContentHash.sha256Hex(fakeImageBytes(seed)), mime: "image/jpeg", width: 2, height: 2,
                             byteSize: 10, mtime: 1, embedding: v, thumbnailJPEG: [], takenAt: Date(timeIntervalSince1970: taken),
                             keywords: keywords)
        }
        let ids = try index.indexFiles([
            entry("/photos/2024_summer/beach-day.jpg", 1, taken: 10 * day),
            entry("/photos/winter/Snow.png", 2, taken: 20 * day),
            entry("/photos/100%_real/cat.jpg", 3, taken: 30 * day),
            entry("/photos/a_b/dog.jpg", 4, taken: 40 * day, keywords: ["golden hour", "Sunset"]),
            entry("/photos/aXb/fox.jpg", 5, taken: 50 * day),
            entry("/photos/100X_real/owl.jpg", 6, taken: 60 * day),
        ]).map(\.image.id)
        let (beach, snow, cat, dog, fox, owl) = (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5])
        func matching(_ words: [String], _ filter: ImageFilter = ImageFilter()) throws -> [Int64] {
            try index.imagesMatching(words: words, limit: 10, filter: filter)
        }
        // Words of folders and file names, any case; keywords; a phrase in order only.
        #expect(try matching(["beach"]) == [beach])
        #expect(try matching(["summer"]) == [beach])
        #expect(try matching(["SNOW"]) == [snow])
        #expect(try matching(["sunset"]) == [dog])
        #expect(try matching(["golden hour"]) == [dog])
        #expect(try matching(["hour golden"]).isEmpty)
        #expect(try Set(matching(["snow", "fox"])) == [snow, fox])
        #expect(try matching(["nothing"]).isEmpty)
        // Query syntax is no syntax: operators, quotes and prefixes are plain text.
        for hostile in ["' OR '1'='1", "\"", "(", ")|(", "!", "&", "\\", "", "   ", "NEAR(a b)", "*", "do:*", "do*", "-x"] {
            #expect(try matching([hostile]).isEmpty, "\(hostile)")
        }
        #expect(try matching(["dog:*"]) == [dog])
        #expect(try matching(["'cat'"]) == [cat])
        // Folders on path boundaries, "%" and "_" literal; dates [after, before).
        #expect(try index.imageIDs(matching: ImageFilter(folder: "/photos/a_b")) == [dog])
        #expect(try index.imageIDs(matching: ImageFilter(folder: "/photos/100%_real/")) == [cat])
        #expect(try index.imageIDs(matching: ImageFilter(folder: "/photos/100")).isEmpty)
        #expect(try Set(index.imageIDs(matching: ImageFilter(folder: "/"))) == Set(ids))
        #expect(try index.imageIDs(matching: ImageFilter(takenAfter: Date(timeIntervalSince1970: 20 * day),
                                                         takenBefore: Date(timeIntervalSince1970: 40 * day))).sorted() == [snow, cat])
        #expect(try matching(["jpg"], ImageFilter(folder: "/photos/100X_real")) == [owl])
        #expect(try Set(matching(["jpg"], ImageFilter(takenAfter: Date(timeIntervalSince1970: 45 * day)))) == [fox, owl])
        // Hybrid search over both rankings finds a words-only match too.
        let hybrid = try index.hybridSearch([1, 0, 0, 0, 0, 0, 0, 0], words: ["sunset"], k: 3)
        #expect(hybrid.hits.contains { $0.image.id == dog })
    }
}
