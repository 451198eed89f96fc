import Foundation
import Testing
@testable import LibraryStore
import SearchIndex

@Suite("SQLite library store")
struct SQLiteLibraryTests {
    // MARK: - Inserts and duplicates

    @Test func uploadStoresRowOriginalEmbeddingAndThumbnail() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let index = try store.open()
        let bytes = fakeImageBytes(1)
        let (image, duplicate) = try index.upload(bytes, [1, 2, 3, 4, 5, 6, 7, 8], name: "cat.jpg")
        #expect(!duplicate)
        #expect(image.source == "cat.jpg")
        #expect(image.sha256 == ContentHash.sha256Hex(bytes))
        #expect(image.byteSize == bytes.count)
        #expect(image.fileMtime == nil)
        let sha = image.sha256
        #expect(image.storedPath == "originals/\(sha.prefix(2))/\(sha)")
        // The original is on disk, byte for byte, and no temp file is left beside it.
        let url = index.originalURL(of: image)
        #expect(try [UInt8](Data(contentsOf: url)) == bytes)
        let siblings = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
        #expect(siblings == [sha])
        #expect(try index.image(id: image.id) == image)
        #expect(try index.image(sha256: sha) == image)
        #expect(try index.thumbnail(id: image.id) == [0xFF, 0xD8, 0xFF, 0xD9])
        #expect(index.count == 1)
        // Stored unit length, same direction.
        let stored = try #require(index.embedding(id: image.id))
        let norm = (1...8).map { Float($0 * $0) }.reduce(0, +).squareRoot()
        for (i, value) in stored.enumerated() { #expect(abs(value - Float(i + 1) / norm) < 1e-6) }
    }

    @Test func sameBytesTwiceGiveOneRow() throws {
        let store = try TempStore()
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

    @Test func concurrentDuplicateUploadsMakeOneRow() async throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let index = try store.open()
        let bytes = fakeImageBytes(42)
        let results = try await withThrowingTaskGroup(of: (StoredImage, Bool).self) { group in
            for i in 0..<16 {
                group.addTask {
                    var v = [Float](repeating: 0, count: 8)
                    v[i % 8] = 1
                    let r = try index.upload(bytes, v, name: "copy-\(i).jpg")
                    return (r.image, r.duplicate)
                }
            }
            var all: [(StoredImage, Bool)] = []
            for try await r in group { all.append(r) }
            return all
        }
        #expect(Set(results.map { $0.0.id }).count == 1)
        #expect(results.filter { !$0.1 }.count == 1)
        #expect(try index.list(offset: 0, limit: 100).total == 1)
        #expect(index.count == 1)
        let sha = ContentHash.sha256Hex(bytes)
        let folder = store.folder.appendingPathComponent("originals/\(sha.prefix(2))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == [sha])
    }

    @Test func wrongHashAndWrongDimensionAreTypedErrors() throws {
        let store = try TempStore()
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

    // MARK: - Delete and list

    @Test func deleteRemovesEverything() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let index = try store.open()
        var rng = SplitMix64(seed: 5)
        let images = try (0..<5).map { try index.upload(fakeImageBytes($0), randomVector(8, &rng)).image }
        let victim = images[1]
        let url = index.originalURL(of: victim)
        #expect(FileManager.default.fileExists(atPath: url.path))
        #expect(try index.delete(id: victim.id))
        #expect(try !index.delete(id: victim.id))
        #expect(try index.image(id: victim.id) == nil)
        #expect(try index.thumbnail(id: victim.id) == nil)
        #expect(index.embedding(id: victim.id) == nil)
        #expect(!FileManager.default.fileExists(atPath: url.path))
        #expect(index.count == 4)
        // Never returned by a search, even for its own vector; the others still are.
        let query = try #require(index.embedding(id: images[3].id))
        let (hits, total) = try index.search(query, k: 10)
        #expect(total == 4)
        #expect(!hits.contains { $0.image.id == victim.id })
        #expect(hits.first?.image.id == images[3].id)
        // The swap-removed rows keep their own vectors.
        for image in images where image.id != victim.id {
            let v = try #require(index.embedding(id: image.id))
            #expect(try index.search(v, k: 1).hits.first?.image.id == image.id)
        }
        // Ids are not reused.
        let next = try index.upload(fakeImageBytes(99), randomVector(8, &rng)).image
        #expect(next.id > images.last!.id)
    }

    @Test func listIsNewestFirstAndPages() throws {
        let store = try TempStore()
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

    @Test func orphanedOriginalsAreSweptButNotLiveOnes() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let index = try store.open()
        let kept = try index.upload(fakeImageBytes(1), [1, 0, 0, 0, 0, 0, 0, 0]).image
        let manager = FileManager.default
        // An original whose row never committed, an old temp file, a fresh temp file (in flight).
        let orphanSHA = ContentHash.sha256Hex(fakeImageBytes(2))
        let orphan = "originals/\(orphanSHA.prefix(2))/\(orphanSHA)"
        let folder = store.folder.appendingPathComponent("originals/\(orphanSHA.prefix(2))")
        try manager.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(fakeImageBytes(2)).write(to: store.folder.appendingPathComponent(orphan))
        let oldTemp = folder.appendingPathComponent(".tmp-old")
        let freshTemp = folder.appendingPathComponent(".tmp-fresh")
        try Data([1]).write(to: oldTemp)
        try Data([2]).write(to: freshTemp)
        try manager.setAttributes([.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: oldTemp.path)

        let removed = try index.removeOrphanedOriginals(tempFileAge: 3600)
        #expect(Set(removed) == [orphan, "originals/\(orphanSHA.prefix(2))/.tmp-old"])
        #expect(manager.fileExists(atPath: index.originalURL(of: kept).path))
        #expect(manager.fileExists(atPath: freshTemp.path))
        #expect(!manager.fileExists(atPath: oldTemp.path))
        // Uploading the swept bytes later stores them again.
        let again = try index.upload(fakeImageBytes(2), [0, 1, 0, 0, 0, 0, 0, 0]).image
        #expect(try [UInt8](Data(contentsOf: index.originalURL(of: again))) == fakeImageBytes(2))
    }

    // MARK: - Search

    @Test func searchMatchesBruteForceWithOffsetAndMinScore() throws {
        let store = try TempStore()
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

    @Test func searchOfEmptyIndex() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let index = try store.open()
        let result = try index.search([Float](repeating: 1, count: 8), k: 10)
        #expect(result.hits.isEmpty && result.total == 0)
    }

    // MARK: - Models, reopening

    @Test func modelNamesNeverMix() throws {
        let store = try TempStore()
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

    @Test func reopeningGivesSameIdsAndResults() throws {
        let store = try TempStore()
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

    @Test func storedDimensionMismatchOnOpen() throws {
        let store = try TempStore()
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

    // MARK: - Files indexed in place

    @Test func movedFileKeepsItsEmbeddingAndId() throws {
        let store = try TempStore()
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
        #expect(index.originalURL(of: image).path == oldPath)
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

    @Test func overwrittenFileReplacesItsRow() throws {
        let store = try TempStore()
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

    @Test func batchOfFilesIsOneTransactionInOrder() throws {
        let store = try TempStore()
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

    // MARK: - Concurrency

    @Test func searchesRunWhileInsertingAndDeleting() async throws {
        let store = try TempStore()
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
}
