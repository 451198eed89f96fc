import Foundation
import Testing
@testable import LibraryStore
import SearchIndex

@Suite("SQLite library store")
struct SQLiteLibraryTests {
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
}
