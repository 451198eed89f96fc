import Foundation
import GRDB
import Testing
@testable import LibraryStore
import SearchIndex

/// Two libraries on one database stand in for two processes (a server and `clip-server index`, or
/// two servers): each must see the other's committed writes after `refresh()`, reading only what
/// changed, and end with the same vectors as a library opened afresh.
@Suite("Following other writers")
struct ChangeFeedTests {
    /// The vectors of a library opened now: what the database holds.
    private func freshVectors(_ store: TempStore) throws -> [Int64: [Float]] {
        let fresh = try store.open()
        return Dictionary(uniqueKeysWithValues: fresh.vectors.ids.map { ($0, fresh.embedding(id: $0)!) })
    }

    private func vectors(_ library: SQLiteLibrary) -> [Int64: [Float]] {
        Dictionary(uniqueKeysWithValues: library.vectors.ids.map { ($0, library.embedding(id: $0)!) })
    }

    @Test func uploadsDeletesAndReembedsReachTheOtherLibrary() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let server = try store.open()
        let cli = try store.open()
        var rng = SplitMix64(seed: 3)
        let first = try cli.upload(fakeImageBytes(1), randomVector(8, &rng)).image
        let second = try cli.upload(fakeImageBytes(2), randomVector(8, &rng)).image
        #expect(server.count == 0)
        #expect(try server.refresh() == 2)
        #expect(vectors(server) == (try freshVectors(store)))
        #expect(try server.refresh() == 0, "nothing new: nothing applied")

        // A delete (the embedding goes by the images row's cascade) and a new vector for a row.
        #expect(try cli.delete(id: first.id))
        try cli.setEmbedding(id: second.id, embedding: randomVector(8, &rng))
        #expect(try server.refresh() == 2)
        #expect(!server.vectors.contains(first.id))
        #expect(vectors(server) == (try freshVectors(store)))
    }

    /// A write in this library first applies what the other committed before it (in commit order),
    /// so no refresh is needed for a writer to be up to date.
    @Test func aWriteCatchesUpFirst() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let server = try store.open()
        let other = try store.open()
        var rng = SplitMix64(seed: 4)
        let theirs = try other.upload(fakeImageBytes(1), randomVector(8, &rng)).image
        try server.upload(fakeImageBytes(2), randomVector(8, &rng))
        #expect(server.vectors.contains(theirs.id))
        #expect(vectors(server) == (try freshVectors(store)))
        #expect(try server.refresh() == 0)
    }

    /// Files indexed in place by another process: inserted, then the file overwritten (its row
    /// dropped, a new one added).
    @Test func filesInPlaceFromAnotherProcess() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let server = try store.open()
        let cli = try store.open()
        var rng = SplitMix64(seed: 5)
        let path = "/photos/a.jpg"
        let old = try cli.indexFile(path: path, sha256: ContentHash.sha256Hex([1]), mime: "image/jpeg", width: 4, height: 3,
                                    byteSize: 1, mtime: 1, embedding: randomVector(8, &rng), thumbnailJPEG: [])
        _ = try server.refresh()
        #expect(server.vectors.contains(old.image.id))
        let new = try cli.indexFile(path: path, sha256: ContentHash.sha256Hex([2]), mime: "image/jpeg", width: 4, height: 3,
                                    byteSize: 1, mtime: 2, embedding: randomVector(8, &rng), thumbnailJPEG: [])
        _ = try server.refresh()
        #expect(!server.vectors.contains(old.image.id) && server.vectors.contains(new.image.id))
        #expect(vectors(server) == (try freshVectors(store)))
    }

    /// A library further behind than the log keeps (the log pruned past it) reloads every vector,
    /// dropping the ones that are gone.
    @Test func behindThePrunedLogReloads() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let server = try store.open()
        let other = try store.open()
        var rng = SplitMix64(seed: 6)
        let kept = try server.upload(fakeImageBytes(1), randomVector(8, &rng)).image
        let removed = try server.upload(fakeImageBytes(2), randomVector(8, &rng)).image
        _ = try other.refresh()
        #expect(try server.delete(id: removed.id))
        try server.upload(fakeImageBytes(3), randomVector(8, &rng))
        try server.database.pool.write { db in
            try server.pruneChangeLog(db, now: Date().addingTimeInterval(2 * SQLiteLibrary.changeLogRetention))
        }
        #expect(try other.refresh() > 0)
        #expect(other.vectors.contains(kept.id) && !other.vectors.contains(removed.id))
        #expect(vectors(other) == (try freshVectors(store)))
    }

    /// Another model's vectors never enter this library's index.
    @Test func otherModelsAreIgnored() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let server = try store.open(model: "a")
        let other = try store.open(model: "b")
        var rng = SplitMix64(seed: 7)
        try other.upload(fakeImageBytes(1), randomVector(8, &rng))
        #expect(try server.refresh() == 0)
        #expect(server.count == 0)
    }
}

@Suite("Filters and dates")
struct ImageFilterTests {
    private func index(_ library: SQLiteLibrary, _ path: String, mtime: Double, takenAt: Date? = nil,
                       _ rng: inout SplitMix64) throws -> Int64 {
        try library.indexFiles([FileEntry(path: path, sha256: ContentHash.sha256Hex(Array(path.utf8)), mime: "image/jpeg",
                                          width: 4, height: 3, byteSize: 1, mtime: mtime,
                                          embedding: randomVector(8, &rng), thumbnailJPEG: [], takenAt: takenAt)])[0].image.id
    }

    @Test func folderIsAPathPrefixOnComponentBoundaries() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let library = try store.open()
        var rng = SplitMix64(seed: 8)
        let a = try index(library, "/photos/2023/a.jpg", mtime: 1, &rng)
        let b = try index(library, "/photos/2023/trip/b.jpg", mtime: 1, &rng)
        _ = try index(library, "/photos/2023-old/c.jpg", mtime: 1, &rng)
        let percent = try index(library, "/photos/100%_real/d.jpg", mtime: 1, &rng)
        _ = try index(library, "/photos/100xxreal/e.jpg", mtime: 1, &rng)
        let unicode = try index(library, "/fotos/größe/f.jpg", mtime: 1, &rng)
        #expect(Set(try library.imageIDs(matching: ImageFilter(folder: "/photos/2023"))) == [a, b])
        #expect(Set(try library.imageIDs(matching: ImageFilter(folder: "/photos/2023/"))) == [a, b])
        #expect(try library.imageIDs(matching: ImageFilter(folder: "/photos/100%_real")) == [percent])
        #expect(try library.imageIDs(matching: ImageFilter(folder: "/fotos/größe")) == [unicode])
        #expect(try library.imageIDs(matching: ImageFilter(folder: "/photos/2023/a.jpg")) == [a])
        #expect(try library.imageIDs(matching: ImageFilter(folder: "/")).count == 6)
    }

    /// taken_at: EXIF when given, else the mtime; the range is [after, before).
    @Test func datesFilterOnTakenAt() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let library = try store.open()
        var rng = SplitMix64(seed: 9)
        let exif = try index(library, "/p/exif.jpg", mtime: 2_000_000_000, takenAt: Date(timeIntervalSince1970: 1_000), &rng)
        let mtime = try index(library, "/p/mtime.jpg", mtime: 5_000, &rng)
        #expect(try library.image(id: exif)?.takenAt == Date(timeIntervalSince1970: 1_000))
        #expect(try library.image(id: mtime)?.takenAt == Date(timeIntervalSince1970: 5_000))
        let early = ImageFilter(takenBefore: Date(timeIntervalSince1970: 5_000))
        #expect(try library.imageIDs(matching: early) == [exif])
        let late = ImageFilter(takenAfter: Date(timeIntervalSince1970: 5_000))
        #expect(try library.imageIDs(matching: late) == [mtime])
        // A filtered search fills k from the allowed rows only.
        let hits = try library.search(randomVector(8, &rng), k: 10, filter: late).hits
        #expect(hits.map(\.image.id) == [mtime])
    }

    /// The words of paths and keywords follow moves and deletes (triggers keep image_text in step).
    @Test func fullTextFollowsTheRows() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let library = try store.open()
        var rng = SplitMix64(seed: 10)
        let path = store.folder.appendingPathComponent("golden_retriever.jpg").path
        try Data([1]).write(to: URL(fileURLWithPath: path))
        let sha = ContentHash.sha256Hex([1])
        let id = try library.indexFiles([FileEntry(path: path, sha256: sha, mime: "image/jpeg", width: 4, height: 3, byteSize: 1,
                                                   mtime: 1, embedding: randomVector(8, &rng), thumbnailJPEG: [],
                                                   keywords: ["Beach", "Café"])])[0].image.id
        #expect(try library.imagesMatching(words: ["retriever"], limit: 10, filter: ImageFilter()) == [id])
        #expect(try library.imagesMatching(words: ["beach"], limit: 10, filter: ImageFilter()) == [id])
        #expect(try library.imagesMatching(words: ["cafe"], limit: 10, filter: ImageFilter()) == [id], "diacritics folded")
        #expect(try library.image(id: id)?.keywords == ["Beach", "Café"])
        let moved = store.folder.appendingPathComponent("tabby_cat.jpg").path
        try FileManager.default.moveItem(atPath: path, toPath: moved)
        #expect(try library.relocateFile(path: moved, sha256: sha, byteSize: 1, mtime: 1)?.change == .moved(from: path))
        #expect(try library.imagesMatching(words: ["retriever"], limit: 10, filter: ImageFilter()).isEmpty)
        #expect(try library.imagesMatching(words: ["tabby", "nothing"], limit: 10, filter: ImageFilter()) == [id])
        #expect(try library.delete(id: id))
        #expect(try library.imagesMatching(words: ["tabby", "beach"], limit: 10, filter: ImageFilter()).isEmpty)
    }

    /// A database made before taken_at existed opens, and its rows read the fallback (mtime, else
    /// upload time).
    @Test func rowsFromBeforeTheMigrationFallBack() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let pool = try DatabasePool(path: store.databasePath)
        try AppDatabase.migrator.migrate(pool, upTo: "v1: images, embeddings, thumbnails")
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO images (sha256, source, mime, width, height, byte_size, file_mtime, stored_path, created_at)
                VALUES (?, '/old/file.jpg', 'image/jpeg', 4, 3, 1, 1234, NULL, 9999),
                       (?, 'upload.jpg', 'image/jpeg', 4, 3, 1, NULL, 'o/x', 7777)
                """, arguments: [ContentHash.sha256Hex([1]), ContentHash.sha256Hex([2])])
        }
        try pool.close()
        let library = try store.open()
        let rows = try library.list(offset: 0, limit: 10).images
        #expect(rows.map(\.takenAt.timeIntervalSince1970).sorted() == [1234, 7777])
        #expect(try library.imageIDs(matching: ImageFilter(takenAfter: Date(timeIntervalSince1970: 5000))).count == 1)
    }
}
