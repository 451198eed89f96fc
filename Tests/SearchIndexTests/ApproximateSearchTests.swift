import Foundation
import Testing
@testable import SearchIndex

/// The graph path on seeded clustered data: recall@10 against the exact path, before and after
/// churn, with filters, and the same answers after a serialization round trip. The bounds are what
/// these seeds measured (in the comments) less under 0.01, not the figures a benchmark reports.
@Suite("Approximate search (HNSW)")
struct ApproximateSearchTests {
    static let dim = 48

    /// A narrow beam (efSearch 16) on data of intrinsic dimension 24, so recall is below 1 and a
    /// weaker graph shows.
    static func options(threshold: Int = 1000) -> VectorIndex.Options {
        var options = foregroundGraphOptions(threshold: threshold)
        options.efSearch = 16
        return options
    }

    static func recall(_ index: VectorIndex, queries: [[Float]], k: Int = 10, filter: IDFilter? = nil) throws -> Double {
        var found = 0
        for query in queries {
            let exact = Set(try index.search(query, k: k, filter: filter, exact: true).hits.map(\.id))
            let approximate = try index.search(query, k: k, filter: filter).hits
            found += approximate.filter { exact.contains($0.id) }.count
            if let filter { #expect(approximate.allSatisfy { filter.allows($0.id) }) }
        }
        return Double(found) / Double(queries.count * k)
    }

    /// With tombstones reclaimed once they are 5% of the nodes (twice here), and kept (a fraction
    /// never reached).
    @Test(arguments: [0.05, 2.0]) func recallBeforeAndAfterChurn(reclaimFraction: Double) throws {
        var data = ClusteredVectors(dim: Self.dim, intrinsic: 24, clusters: 40, seed: 21)
        var options = Self.options()
        options.reclaimFraction = reclaimFraction
        let index = try VectorIndex(dimension: Self.dim, options: options)
        index.apply((1...6000).map { .upsert(id: Int64($0), vector: data.next()) })
        #expect(index.footprint.graphNodes == 6000 && index.footprint.pending == 0)
        let queries = (0..<100).map { _ in data.next() }
        let before = try Self.recall(index, queries: queries)
        #expect(before >= 0.98, "recall@10 \(before)")   // measured 0.987

        // Delete 10% and add as many, in batches as a library would; no rebuild.
        var next: Int64 = 6001
        var deleted = Set<Int64>()
        for batch in 0..<6 {
            var changes: [VectorChange] = []
            for i in 0..<100 {
                let id = Int64(batch * 1000 + i * 10 + 1)
                deleted.insert(id)
                changes.append(.remove(id: id))
            }
            for _ in 0..<100 {
                changes.append(.upsert(id: next, vector: data.next()))
                next += 1
            }
            index.apply(changes)
        }
        let footprint = index.footprint
        #expect(index.count == 6000 && footprint.graphNodes == 6000 + footprint.tombstones)
        #expect(reclaimFraction < 1 ? footprint.tombstones < 600 : footprint.tombstones == 600)
        let after = try Self.recall(index, queries: queries)
        #expect(after >= 0.98, "recall@10 after churn \(after)")   // measured 0.987 reclaimed, 0.990 kept
        for query in queries.prefix(20) {
            #expect(try index.search(query, k: 50).hits.allSatisfy { !deleted.contains($0.id) })
        }
        // The repaired graph links only nodes it holds: its bytes load back (load checks every link).
        let alive = (Int64(1)..<next).filter { !deleted.contains($0) }
        let copy = try VectorIndex(dimension: Self.dim, options: options)
        try copy.load(alive.map { .upsert(id: $0, vector: index.vector(of: $0)!) }, searchState: index.serializedSearchState())
        #expect(try copy.search(queries[0], k: 10).hits == index.search(queries[0], k: 10).hits)
    }

    /// Batches searched on two threads and linked in turn give the recall of one-at-a-time
    /// inserts, and a graph whose every link names a node (its bytes load back).
    @Test func parallelLinkingKeepsRecall() throws {
        var data = ClusteredVectors(dim: Self.dim, intrinsic: 24, clusters: 40, seed: 23)
        let vectors: [VectorChange] = (1...5000).map { .upsert(id: Int64($0), vector: data.next()) }
        let queries = (0..<100).map { _ in data.next() }
        var recalls: [Int: Double] = [:]
        for threads in [1, 2] {
            var options = Self.options()
            options.linkThreads = threads
            let index = try VectorIndex(dimension: Self.dim, options: options)
            index.apply(Array(vectors[..<1000]))
            index.apply(Array(vectors[1000...]))   // the batches land on a graph that exists
            #expect(index.footprint.graphNodes == 5000 && index.footprint.pending == 0)
            recalls[threads] = try Self.recall(index, queries: queries)
            let copy = try VectorIndex(dimension: Self.dim, options: options)
            try copy.load(vectors, searchState: index.serializedSearchState())
            #expect(try copy.search(queries[0], k: 10).hits == index.search(queries[0], k: 10).hits)
        }
        #expect(recalls[1]! >= 0.98 && recalls[2]! >= 0.98, "recall@10 one thread \(recalls[1]!), two \(recalls[2]!)")
        #expect(abs(recalls[1]! - recalls[2]!) <= 0.01, "recall@10 one thread \(recalls[1]!), two \(recalls[2]!)")
    }

    @Test func filtersApplyDuringTheGraphSearch() throws {
        var data = ClusteredVectors(dim: Self.dim, intrinsic: 24, clusters: 40, seed: 22)
        let index = try VectorIndex(dimension: Self.dim, options: Self.options())
        index.apply((1...5000).map { .upsert(id: Int64($0), vector: data.next()) })
        let queries = (0..<50).map { _ in data.next() }
        // Half the ids (the graph path), then 1% (the exact fallback).
        let half = IDFilter(allowing: (1...5000).filter { $0 % 2 == 0 }.map { Int64($0) })
        let halfRecall = try Self.recall(index, queries: queries, filter: half)
        #expect(halfRecall >= 0.99, "filtered recall@10 \(halfRecall)")   // measured 0.998
        let few = IDFilter(allowing: (1...5000).filter { $0 % 100 == 0 }.map { Int64($0) })
        #expect(try Self.recall(index, queries: queries, filter: few) == 1)
        let (_, total) = try index.search(queries[0], k: 10, filter: half)
        #expect(total == 2500)
    }

    /// offset pages of the graph path are consistent with each other; total is the eligible count.
    @Test func offsetAndTotal() throws {
        var data = ClusteredVectors(dim: Self.dim, intrinsic: 12, clusters: 40, seed: 23)
        let index = try VectorIndex(dimension: Self.dim, options: Self.options())
        index.apply((1...3000).map { .upsert(id: Int64($0), vector: data.next()) })
        let query = data.next()
        let whole = try index.search(query, k: 30)
        let page = try index.search(query, k: 10, offset: 20)
        #expect(whole.total == 3000 && page.total == 3000)
        #expect(page.hits == Array(whole.hits[20..<30]))
        #expect(zip(whole.hits, whole.hits.dropFirst()).allSatisfy { $0.score >= $1.score })
    }

    /// The compact matrix and the graph written to bytes and read back answer every query the same.
    @Test func serializationRoundTrip() throws {
        var data = ClusteredVectors(dim: Self.dim, intrinsic: 12, clusters: 40, seed: 24)
        var state = IndexState(dim: Self.dim)
        for id in 1...2000 { state.upsert(id: Int64(id), vector: data.next()) }
        state.startGraphIfLarge(threshold: 1000, parameters: HNSWGraph.Parameters(m: 8, efConstruction: 64))
        _ = state.linkPending(budget: .seconds(1000))
        for id in stride(from: 5, through: 2000, by: 50) { state.remove(id: Int64(id)) }

        var writer = ByteWriter()
        state.rows.serialize(into: &writer)
        state.graph!.serialize(into: &writer)
        var reader = ByteReader(writer.bytes)
        let rows = try QuantizedRows(reading: &reader)
        let graph = try HNSWGraph(reading: &reader, slots: rows.slotCount)
        try reader.expectEnd("index")
        #expect(rows.codes == state.rows.codes && rows.ids == state.rows.ids && rows.live == state.rows.live)
        #expect(rows.liveCount == state.rows.liveCount && rows.tombstoneCount == state.rows.tombstoneCount)
        #expect(graph.links0 == state.graph!.links0 && graph.entry == state.graph!.entry && graph.topLevel == state.graph!.topLevel)

        var restored = IndexState(dim: Self.dim)
        restored.matrix = state.matrix
        restored.rows = rows
        restored.graph = graph
        for _ in 0..<20 {
            let request = SearchRequest(query: data.next(), k: 10, offset: 0, minScore: nil, filter: nil)
            #expect(ApproximateSearch.search(request, state: restored, efSearch: 32).hits
                    == ApproximateSearch.search(request, state: state, efSearch: 32).hits)
        }
        // A truncated or altered buffer is refused with a message, never trusted.
        var cut = ByteReader(Array(writer.bytes.prefix(writer.bytes.count / 2)))
        #expect(throws: SearchIndexError.self) {
            let rows = try QuantizedRows(reading: &cut)
            _ = try HNSWGraph(reading: &cut, slots: rows.slotCount)
        }
    }
}
