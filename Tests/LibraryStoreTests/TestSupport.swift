import Foundation
@testable import LibraryStore
// SplitMix64: deterministic pseudo-random numbers, so a failing case can be rerun as it was.
import SearchIndex
import PostgresTestSupport
import Testing

/// A fresh temp data folder with its database, removed by `cleanup()`.
struct TempStore {
    let folder: URL
    var databasePath: String { folder.appendingPathComponent("index.sqlite").path }

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("searchindex-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func open(model: String = "test-model", dimension: Int = 8,
              hooks: SQLiteLibrary.Hooks = SQLiteLibrary.Hooks()) throws -> SQLiteLibrary {
        try SQLiteLibrary(databasePath: databasePath, dataDirectory: folder, modelName: model, dimension: dimension,
                          hooks: hooks)
    }

    func cleanup() {
        try? FileManager.default.removeItem(at: folder)
    }
}


func randomVector(_ dim: Int, _ rng: inout SplitMix64) -> [Float] {
    (0..<dim).map { _ in Float.random(in: -1...1, using: &rng) }
}

/// Bytes standing in for an upload: distinct per `seed`.
func fakeImageBytes(_ seed: Int) -> [UInt8] {
    Array("image-bytes-\(seed)".utf8) + [UInt8](repeating: UInt8(truncatingIfNeeded: seed), count: 100)
}

extension LibraryStore {
    /// Vectors held in memory.
    var count: Int { vectors.count }

    func embedding(id: Int64) -> [Float]? { vectors.vector(of: id) }

    /// Upload shorthand for tests.
    @discardableResult
    func upload(_ bytes: [UInt8], _ embedding: [Float], name: String = "upload.jpg") throws -> (image: StoredImage, duplicate: Bool) {
        try addUpload(NewUpload(original: HashedBytes(bytes), name: name, mime: "image/jpeg", width: 4, height: 3,
                                embedding: embedding, thumbnailJPEG: [0xFF, 0xD8, 0xFF, 0xD9]))
    }

    /// One file in place.
    @discardableResult
    func indexFile(path: String, sha256: String, mime: String, width: Int, height: Int, byteSize: Int, mtime: Double,
                   embedding: [Float], thumbnailJPEG: [UInt8]) throws -> (image: StoredImage, change: FileChange) {
        try indexFiles([FileEntry(path: path, sha256: sha256, mime: mime, width: width, height: height, byteSize: byteSize,
                                  mtime: mtime, embedding: embedding, thumbnailJPEG: thumbnailJPEG)])[0]
    }
}

/// The reference ranking, computed the slow obvious way in Double: cosine of the normalized query
/// against each normalized vector, sorted by score then id.
func bruteForceRanking(query: [Float], vectors: [Int64: [Float]]) -> [(id: Int64, score: Double)] {
    func unit(_ v: [Float]) -> [Double] {
        let norm = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        return v.map { Double($0) / norm }
    }
    let q = unit(query)
    return vectors.map { id, v in
        (id, zip(q, unit(v)).reduce(0.0) { $0 + $1.0 * $1.1 })
    }.sorted { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
}

/// The store implementations the contract tests run against: SQLite always, PostgreSQL when
/// `CLIP_TEST_POSTGRES_URL` names a server (tools/pg-test-server.sh; `.ci/run` starts one).
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    static var available: [StoreKind] { PostgresTestDatabase.isAvailable ? [.sqlite, .postgres] : [.sqlite] }

    var testDescription: String { rawValue }
}

/// One library of either kind: a temp folder (files in place live there; SQLite's database too),
/// and for PostgreSQL a fresh database on the test server. `open` gives another handle on the
/// same library each time (another process, or another server).
struct StoreFixture {
    let kind: StoreKind
    let temp: TempStore
    let postgresURL: String?
    var folder: URL { temp.folder }

    init(_ kind: StoreKind) async throws {
        self.kind = kind
        temp = try TempStore()
        postgresURL = kind == .postgres ? try await PostgresTestDatabase.create() : nil
    }

    func open(model: String = "test-model", dimension: Int = 8) throws -> any LibraryStore {
        if let postgresURL { return try PostgresLibrary(url: postgresURL, modelName: model, dimension: dimension) }
        return try temp.open(model: model, dimension: dimension)
    }

    /// The throwaway PostgreSQL server is removed whole when the tests end; its databases stay until then.
    func cleanup() { temp.cleanup() }
}
