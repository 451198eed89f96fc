import Foundation
import GRDB
import Testing
@testable import LibraryStore
import SearchIndex

/// The vector file beside the database is a cache of the rows: whatever happened to it (stale,
/// truncated, damaged, of another model, ahead of a database restored from a backup, from another
/// history, a crash between a commit and its write), a library opens with exactly the vectors the
/// rows hold, read here straight from SQLite as the reference.
@Suite("Vector file")
struct VectorFileTests {
    /// The reference: every vector of `model` decoded from the `embeddings` rows (little-endian f32).
    private func rowVectors(_ path: String, model: String = "test-model") throws -> [Int64: [Float]] {
        let queue = try DatabaseQueue(path: path)
        return try queue.read { db in
            var vectors: [Int64: [Float]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT image_id, vector FROM embeddings WHERE model = ?", arguments: [model]) {
                let bytes = [UInt8](row[1] as Data)
                vectors[row[0]] = stride(from: 0, to: bytes.count, by: 4).map { i in
                    Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
                }
            }
            return vectors
        }
    }

    private func unitFloats(_ v: [Float]) -> [Float] {
        let norm = v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / norm }
    }

    private func held(_ library: SQLiteLibrary) -> [Int64: [Float]] {
        Dictionary(uniqueKeysWithValues: library.vectors.ids.map { ($0, library.embedding(id: $0)!) })
    }

    /// Opens, stores `count` uploads (seeds from `first`), closes: the close writes the file.
    private func fill(_ store: TempStore, count: Int, first: Int = 0, rng: inout SplitMix64) throws {
        let library = try store.open()
        for i in first..<first + count { try library.upload(fakeImageBytes(i), randomVector(8, &rng)) }
    }

    private func fileURL(_ store: TempStore) -> URL { URL(fileURLWithPath: store.databasePath + ".vectors") }

    /// The database files (not the vector file) of `from` copied over `to`'s.
    private func copyDatabase(from: TempStore, to: TempStore) throws {
        for suffix in ["", "-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: to.databasePath + suffix)
            if FileManager.default.fileExists(atPath: from.databasePath + suffix) {
                try FileManager.default.copyItem(atPath: from.databasePath + suffix, toPath: to.databasePath + suffix)
            }
        }
    }

    /// What a process killed now leaves: the database files and the vector file as they are on disk.
    private func crashCopy(of store: TempStore, into crashed: TempStore) throws {
        try copyDatabase(from: store, to: crashed)
        try FileManager.default.copyItem(at: fileURL(store), to: fileURL(crashed))
    }

    /// SQL run on the database by another writer (not through a library).
    private func execute(_ store: TempStore, _ body: (Database) throws -> Void) throws {
        let queue = try DatabaseQueue(path: store.databasePath)
        try queue.write(body)
        try queue.close()
    }

    private func ignored(_ source: SQLiteLibrary.VectorSource, mentioning word: String? = nil) -> Bool {
        guard case .rowsIgnoringFile(let reason) = source else { return false }
        return word.map { reason.contains($0) } ?? true
    }

    @Test func closingWritesTheFileAndTheNextOpenLoadsIt() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        var rng = SplitMix64(seed: 51)
        do {
            let first = try store.open()
            #expect(first.vectorSource == .rows)
            for i in 0..<30 { try first.upload(fakeImageBytes(i), randomVector(8, &rng)) }
        }
        #expect(FileManager.default.fileExists(atPath: fileURL(store).path))
        let library = try store.open()
        #expect(library.vectorSource == .file(caughtUp: 0))
        let reference = try rowVectors(store.databasePath)
        #expect(reference.count == 30 && held(library) == reference)
        let query = randomVector(8, &rng)
        let expected = bruteForceRanking(query: query, vectors: reference).prefix(5).map(\.id)
        #expect(try library.vectors.search(query, k: 5).hits.map(\.id) == Array(expected))
    }

    /// A crash after commits and before the file is rewritten: the database on disk as it is while
    /// the library still runs (copied: what a killed process leaves), the file from the last close.
    @Test func aCrashBetweenCommitAndFileIsCaughtUpFromTheLog() throws {
        let store = try TempStore()
        let crashed = try TempStore()
        defer { store.cleanup(); crashed.cleanup() }
        var rng = SplitMix64(seed: 52)
        try fill(store, count: 20, rng: &rng)
        let running = try store.open()
        for i in 20..<25 { try running.upload(fakeImageBytes(i), randomVector(8, &rng)) }
        let ids = running.vectors.ids.sorted()
        #expect(try running.delete(id: ids[0]) && running.delete(id: ids[1]))
        try running.setEmbedding(id: ids[2], embedding: randomVector(8, &rng))

        try crashCopy(of: store, into: crashed)
        let reopened = try crashed.open()
        #expect(reopened.vectorSource == .file(caughtUp: 8), "5 added, 2 deleted, 1 re-embedded since the file")
        #expect(held(reopened) == (try rowVectors(crashed.databasePath)))
        #expect(held(reopened) == held(running))
    }

    @Test(arguments: ["truncated to half", "one byte short", "one byte more", "a value byte flipped",
                      "the log position flipped", "not a vector file"])
    func aDamagedFileFallsBackToTheRows(damage: String) throws {
        let store = try TempStore()
        defer { store.cleanup() }
        var rng = SplitMix64(seed: 53)
        try fill(store, count: 12, rng: &rng)
        var bytes = [UInt8](try Data(contentsOf: fileURL(store)))
        // Header: 16 bytes, the model name ("test-model", 10), then the log position at byte 26; 48
        // bytes from the name on, then 12 ids (96 bytes): the values start at byte 170.
        switch damage {
        case "truncated to half": bytes.removeLast(bytes.count / 2)
        case "one byte short": bytes.removeLast()
        case "one byte more": bytes.append(0)
        case "a value byte flipped": bytes[175] ^= 0x01
        case "the log position flipped": bytes[26] ^= 0x01
        default: bytes = Array("hello".utf8)
        }
        try Data(bytes).write(to: fileURL(store))
        do {
            let library = try store.open()
            #expect(ignored(library.vectorSource), "\(library.vectorSource)")
            #expect(held(library) == (try rowVectors(store.databasePath)))
        }
        let again = try store.open()
        #expect(again.vectorSource == .file(caughtUp: 0), "the close after the fallback rewrote the file")
        #expect(held(again) == (try rowVectors(store.databasePath)))
    }

    @Test func aFileOfAnotherModelOrDimensionIsIgnored() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        var rng = SplitMix64(seed: 54)
        try fill(store, count: 6, rng: &rng)
        let saved = try Data(contentsOf: fileURL(store))
        do {
            let other = try store.open(model: "other-model")
            #expect(ignored(other.vectorSource, mentioning: "model test-model"), "\(other.vectorSource)")
            #expect(other.count == 0)
        }
        try saved.write(to: fileURL(store))
        do {
            let wider = try store.open(model: "other-model", dimension: 16)
            #expect(ignored(wider.vectorSource, mentioning: "dimension 8"), "\(wider.vectorSource)")
        }
        // This model at another dimension: the file is passed over for the rows, whose 8-d vectors
        // are refused as always.
        try saved.write(to: fileURL(store))
        #expect(throws: LibraryStoreError.self) { _ = try store.open(model: "test-model", dimension: 16) }
    }

    /// The database restored from a backup taken before the file: the file is ahead of the log.
    /// Then the restored database written again up to the file's position by another writer: same
    /// number, another history.
    @Test func aFileAheadOfARestoredDatabaseOrFromAnotherHistoryIsIgnored() throws {
        let store = try TempStore()
        let backup = try TempStore()
        defer { store.cleanup(); backup.cleanup() }
        var rng = SplitMix64(seed: 55)
        try fill(store, count: 5, rng: &rng)
        try copyDatabase(from: store, to: backup)
        try fill(store, count: 5, first: 5, rng: &rng)
        let ahead = try Data(contentsOf: fileURL(store))

        try copyDatabase(from: backup, to: store)
        do {
            let restored = try store.open()
            #expect(ignored(restored.vectorSource, mentioning: "restored from a backup"), "\(restored.vectorSource)")
            #expect(held(restored) == (try rowVectors(store.databasePath)) && restored.count == 5)
        }

        try copyDatabase(from: backup, to: store)
        try ahead.write(to: fileURL(store))
        usleep(5_000)   // the log entries' times differ from the first history's
        try execute(store) { db in
            for i in 100..<105 {
                try db.execute(sql: """
                    INSERT INTO images (sha256, source, mime, width, height, byte_size, created_at)
                    VALUES (?, ?, 'image/jpeg', 4, 3, 100, 0)
                    """, arguments: [ContentHash.sha256Hex(fakeImageBytes(i)), "raw-\(i).jpg"])
                try db.execute(sql: "INSERT INTO embeddings (image_id, model, dim, vector) VALUES (?, 'test-model', 8, ?)",
                               arguments: [db.lastInsertedRowID, VectorBlob.encode(unitFloats(randomVector(8, &rng)))])
            }
        }
        let rewritten = try store.open()
        #expect(ignored(rewritten.vectorSource, mentioning: "another history"), "\(rewritten.vectorSource)")
        #expect(held(rewritten) == (try rowVectors(store.databasePath)) && rewritten.count == 10)
    }

    @Test func aLogPrunedPastTheFileMeansTheRows() throws {
        let store = try TempStore()
        let crashed = try TempStore()
        defer { store.cleanup(); crashed.cleanup() }
        var rng = SplitMix64(seed: 56)
        try fill(store, count: 8, rng: &rng)
        let running = try store.open()
        for i in 8..<12 { try running.upload(fakeImageBytes(i), randomVector(8, &rng)) }
        try crashCopy(of: store, into: crashed)
        try execute(crashed) { db in try db.execute(sql: "DELETE FROM vector_changes WHERE seq <= (SELECT MAX(seq) - 2 FROM vector_changes)") }
        let reopened = try crashed.open()
        #expect(ignored(reopened.vectorSource, mentioning: "pruned"), "\(reopened.vectorSource)")
        #expect(held(reopened) == (try rowVectors(crashed.databasePath)) && reopened.count == 12)
    }

    /// An idle library: its whole log pruned after the file was written; the file is at the log's
    /// end and holds as many vectors as the rows, so it is used.
    @Test func anIdleLibraryWithItsLogPrunedOpensFromTheFile() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        var rng = SplitMix64(seed: 57)
        try fill(store, count: 9, rng: &rng)
        try execute(store) { db in try db.execute(sql: "DELETE FROM vector_changes") }
        let library = try store.open()
        #expect(library.vectorSource == .file(caughtUp: 0))
        #expect(held(library) == (try rowVectors(store.databasePath)))
    }

    /// A write killed half-way leaves its temp file; the next open removes it once it is an hour
    /// old (a younger one may be another process's write in progress).
    @Test func staleTempFilesOfAKilledWriteAreRemovedAtOpen() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let stale = store.databasePath + ".vectors.tmp-killed"
        let fresh = store.databasePath + ".vectors.tmp-writing"
        for path in [stale, fresh] { try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path)) }
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -7200)], ofItemAtPath: stale)
        _ = try store.open()
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: fresh))
    }

    /// A file of several 4 MiB pieces (read and checked in parallel) reads back exactly, and a byte
    /// changed in any piece, the last of a section or one in the middle, is caught.
    @Test func aFileOfManyPiecesReadsBackAndADamagedPieceIsCaught() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let url = store.folder.appendingPathComponent("many.vectors")
        var rng = SplitMix64(seed: 61)
        let rows = 5000, dim = 512                                    // values: 10.2 MB, three pieces
        let ids = (0..<rows).map { Int64($0 * 3 + 1) }
        let values = (0..<rows).flatMap { _ in unitFloats(randomVector(dim, &rng)) }
        let state = (0..<(5 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }   // two pieces
        let file = VectorFile(modelName: "many", position: .init(sequence: 9, imageID: 4, changedAt: 1.5),
                              snapshot: VectorSnapshot(dimension: dim, ids: ids, values: values, searchState: state))
        try file.write(to: url)
        #expect(try VectorFile.read(url, modelName: "many", dimension: dim) == file)

        let saved = [UInt8](try Data(contentsOf: url))
        let payload = saved.count - (8 * rows + 4 * rows * dim + state.count)   // header and checksum
        let valuesStart = payload + 8 * rows
        for (what, offset) in [("the last id", valuesStart - 1), ("values, second piece", valuesStart + (4 << 20) + 123),
                               ("the last value byte", valuesStart + 4 * rows * dim - 1),
                               ("state, second piece", saved.count - 17)] {
            var bytes = saved
            bytes[offset] ^= 0x40
            try Data(bytes).write(to: url)
            #expect(throws: VectorFile.Unusable(reason: "checksum mismatch (damaged file)"), "\(what)") {
                try VectorFile.read(url, modelName: "many", dimension: dim)
            }
        }
    }
}
