import Testing
@testable import SearchIndex

/// `serializedSearchState()` and `load(_:searchState:)`: what a store will persist beside its vectors.
@Suite("Search state persistence")
struct PersistenceTests {
    static func options() -> VectorIndex.Options {
        var options = VectorIndex.Options()
        options.approximateThreshold = 500
        options.buildInBackground = false
        return options
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
        for _ in 0..<20 {
            let query = data.next()
            #expect(try loaded.search(query, k: 10).hits == original.search(query, k: 10).hits)
            #expect(try loaded.search(query, k: 10, exact: true).hits == original.search(query, k: 10, exact: true).hits)
        }
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
}
