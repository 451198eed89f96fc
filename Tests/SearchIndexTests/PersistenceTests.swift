import Testing
@testable import SearchIndex

/// `serializedSearchState()` and `load(_:searchState:)`; `snapshot()` and `load(_: VectorSnapshot)`
/// (the whole index as flat arrays: what the store's vector file holds); `checksum64` against XXH64.
@Suite("Search state persistence")
struct PersistenceTests {
    static func options() -> VectorIndex.Options { foregroundGraphOptions(threshold: 500) }

    /// 20 queries: the same approximate and exact hits from both indexes.
    private func expectSameAnswers(_ loaded: VectorIndex, _ original: VectorIndex, _ data: inout ClusteredVectors) throws {
        for _ in 0..<20 {
            let query = data.next()
            #expect(try loaded.search(query, k: 10).hits == original.search(query, k: 10).hits)
            #expect(try loaded.search(query, k: 10, exact: true).hits == original.search(query, k: 10, exact: true).hits)
        }
    }

    @Test func loadedIndexAnswersAsTheOriginal() throws {
        var data = ClusteredVectors(dim: 32, intrinsic: 8, clusters: 20, seed: 31)
        let original = try VectorIndex(dimension: 32, options: Self.options())
        var vectors: [VectorChange] = (1...1500).map { .upsert(id: Int64($0), vector: data.next()) }
        original.apply(vectors)
        original.apply((1...100).map { .remove(id: Int64($0 * 7)) })
        vectors.removeAll { if case .upsert(let id, _) = $0 { return id % 7 == 0 && id <= 700 } else { return false } }
        let bytes = original.serializedSearchState()

        let loaded = try VectorIndex(dimension: 32, options: Self.options())
        try loaded.load(vectors, searchState: bytes)
        #expect(loaded.count == 1400 && loaded.footprint == original.footprint)
        try expectSameAnswers(loaded, original, &data)
        #expect(loaded.serializedSearchState() == bytes)
    }

    @Test func damagedOrForeignStateIsRefused() throws {
        var data = ClusteredVectors(dim: 16, intrinsic: 4, clusters: 5, seed: 32)
        let original = try VectorIndex(dimension: 16, options: Self.options())
        let vectors: [VectorChange] = (1...600).map { .upsert(id: Int64($0), vector: data.next()) }
        original.apply(vectors)
        let bytes = original.serializedSearchState()
        for (name, badBytes, badVectors) in [
            ("truncated", Array(bytes.dropLast(9)), vectors),
            ("wrong magic", [0] + bytes.dropFirst(), vectors),
            ("one vector more", bytes, vectors + [.upsert(id: 9999, vector: data.next())]),
            ("one vector fewer", bytes, Array(vectors.dropLast())),
        ] {
            let index = try VectorIndex(dimension: 16, options: Self.options())
            #expect(throws: SearchIndexError.self, "\(name)") { try index.load(badVectors, searchState: badBytes) }
            #expect(index.count == 0, "\(name)")
        }
        let otherDimension = try VectorIndex(dimension: 8, options: Self.options())
        #expect(throws: SearchIndexError.dimensionMismatch(what: "stored search state", expected: 8, actual: 16)) {
            try otherDimension.load([], searchState: bytes)
        }
    }

    @Test func loadedSnapshotAnswersAsTheOriginal() throws {
        var data = ClusteredVectors(dim: 24, intrinsic: 6, clusters: 12, seed: 41)
        let original = try VectorIndex(dimension: 24, options: Self.options())
        original.apply((1...900).map { .upsert(id: Int64($0), vector: data.next()) })
        original.apply((1...60).map { .remove(id: Int64($0 * 11)) } + [.upsert(id: 5, vector: data.next())])
        let snapshot = original.snapshot()
        #expect(snapshot.ids.count == 840 && snapshot.values.count == 840 * 24)

        let loaded = try VectorIndex(dimension: 24, options: Self.options())
        try loaded.load(snapshot)
        #expect(loaded.footprint == original.footprint)
        #expect(loaded.footprint.graphNodes > 0, "the graph came with the snapshot")
        for id in [Int64(1), 5, 12, 900] { #expect(loaded.vector(of: id) == original.vector(of: id)) }
        #expect(!loaded.contains(11))
        try expectSameAnswers(loaded, original, &data)
        #expect(loaded.snapshot() == snapshot)
    }

    @Test func inconsistentSnapshotsAreRefusedAndLeaveTheIndexEmpty() throws {
        var data = ClusteredVectors(dim: 8, intrinsic: 3, clusters: 4, seed: 42)
        let original = try VectorIndex(dimension: 8, options: Self.options())
        original.apply((1...600).map { .upsert(id: Int64($0), vector: data.next()) })
        let good = original.snapshot()
        var otherIDs = good.ids
        otherIDs[3] = 10_000
        var twice = good.ids
        twice[3] = twice[4]
        let cases: [(String, VectorSnapshot)] = [
            ("an id the search state lacks", VectorSnapshot(dimension: 8, ids: otherIDs, values: good.values, searchState: good.searchState)),
            ("an id twice", VectorSnapshot(dimension: 8, ids: twice, values: good.values, searchState: good.searchState)),
            ("a row short", VectorSnapshot(dimension: 8, ids: good.ids, values: Array(good.values.dropLast(8)), searchState: good.searchState)),
            ("a row missing", VectorSnapshot(dimension: 8, ids: Array(good.ids.dropLast()), values: Array(good.values.dropLast(8)), searchState: good.searchState)),
            ("another dimension", VectorSnapshot(dimension: 4, ids: good.ids, values: good.values, searchState: good.searchState)),
            ("a damaged search state", VectorSnapshot(dimension: 8, ids: good.ids, values: good.values, searchState: Array(good.searchState.dropLast(3)))),
        ]
        for (name, snapshot) in cases {
            let index = try VectorIndex(dimension: 8, options: Self.options())
            #expect(throws: SearchIndexError.self, "\(name)") { try index.load(snapshot) }
            #expect(index.count == 0 && index.footprint.graphNodes == 0, "\(name)")
        }
    }

    /// Digests from the `xxhash` Python package (xxh64(data[:n], seed).intdigest()), data[i] = (7i + 3) mod 256:
    /// every path of the algorithm (under 32 bytes, the 32-byte lanes, 8-, 4- and 1-byte tails).
    @Test func checksumIsXXH64() {
        let data = (0..<1000).map { UInt8((7 * $0 + 3) % 256) }
        let expected: [(Int, UInt64, UInt64)] = [
            (0, 17241709254077376921, 10761433736200290445), (3, 3589991498569311433, 14278397402183582841),
            (4, 11220238523610079194, 7652039315567681574), (7, 11131513552845562072, 7951506046250141239),
            (8, 15760801637573656722, 13532267953136251364), (31, 11721285656260534553, 9261300103067104008),
            (32, 2577116162849570199, 2615528180709198893), (33, 5811842300876720004, 2223820766104723416),
            (100, 11970441692518016305, 12445873666346887122), (1000, 6855428199458907131, 3917069138578950286),
        ]
        for (n, seed0, seed12345) in expected {
            data.withUnsafeBytes { raw in
                let prefix = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                #expect(checksum64(prefix) == seed0, "n = \(n)")
                #expect(checksum64(prefix, seed: 12345) == seed12345, "n = \(n), seed 12345")
            }
        }
    }
}
