import Foundation
import Testing
@testable import SearchIndex

@Suite("VectorIndex")
struct VectorIndexTests {
    /// Exact top-k against scores computed in Double, one by one.
    @Test func searchEqualsBruteForce() throws {
        let dim = 24
        let index = try VectorIndex(dimension: dim)
        var state: UInt64 = 42
        func random() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
        var stored: [Int64: [Float]] = [:]
        for id in 1...500 {
            let unit = try index.unitVector((0..<dim).map { _ in random() }, what: "row \(id)")
            stored[Int64(id)] = unit
        }
        index.apply(stored.sorted { $0.key < $1.key }.map { .upsert(id: $0.key, vector: $0.value) })
        for _ in 0..<10 {
            let query = (0..<dim).map { _ in random() }
            let norm = query.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let reference = stored.map { id, v in
                (id: id, score: zip(query, v).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } / norm)
            }.sorted { $0.score > $1.score }
            let (hits, total) = try index.search(query, k: 10, offset: 3)
            #expect(total == 500)
            #expect(hits.map(\.id) == reference[3..<13].map(\.id))
            for (hit, ref) in zip(hits, reference[3..<13]) { #expect(abs(Double(hit.score) - ref.score) < 1e-5) }
            let threshold = Float(reference[20].score)
            let above = try index.search(query, k: 1000, minScore: threshold)
            #expect(above.total == above.hits.count && above.hits.allSatisfy { $0.score >= threshold })
            #expect(abs(above.total - 21) <= 1)
        }
    }

    /// A filtered search ranks only the allowed ids and still fills k when k of them exist.
    @Test func filteredSearchFillsK() throws {
        let index = try VectorIndex(dimension: 2)
        index.apply((1...100).map { id in
            let angle = Float(id) / 100
            return .upsert(id: Int64(id), vector: [cos(angle), sin(angle)])
        })
        let even = IDFilter(allowing: stride(from: 2, through: 100, by: 2).map { Int64($0) })
        let (hits, total) = try index.search([1, 0], k: 5, filter: even)
        #expect(hits.map(\.id) == [2, 4, 6, 8, 10])
        #expect(total == 50)
        let none = try index.search([1, 0], k: 5, filter: IDFilter(allowing: []))
        #expect(none.hits.isEmpty && none.total == 0)
    }

    @Test func changesApplyInOrder() throws {
        let index = try VectorIndex(dimension: 2)
        index.apply([.upsert(id: 1, vector: [1, 0]), .remove(id: 1), .upsert(id: 2, vector: [0, 1]),
                     .upsert(id: 1, vector: [0, 1]), .upsert(id: 3, vector: [1, 0]), .remove(id: 2)])
        #expect(index.count == 2)
        #expect(index.vector(of: 1) == [0, 1] && index.vector(of: 2) == nil && index.contains(3))
        #expect(try index.search([0, 1], k: 1).hits == [ScoredID(id: 1, score: 1)])
    }

    @Test func badVectorsAreNamed() throws {
        let index = try VectorIndex(dimension: 3)
        #expect(throws: SearchIndexError.dimensionMismatch(what: "query", expected: 3, actual: 2)) { try index.search([1, 0], k: 1) }
        #expect(throws: SearchIndexError.invalidEmbedding("v is all zeros or holds NaN or infinity")) {
            try index.unitVector([0, 0, 0], what: "v")
        }
        #expect(throws: SearchIndexError.self) { try index.unitVector([.nan, 1, 0], what: "v") }
        #expect(throws: SearchIndexError.self) { try index.search([1, 0, 0], k: -1) }
        #expect(throws: SearchIndexError.self) { try VectorIndex(dimension: 0) }
    }
}

@Suite("Autocut")
struct AutocutTests {
    @Test func cutsBeforeTheNthJump() {
        // Three close scores, a drop, three close ones, a drop to the last.
        let scores: [Float] = [0.9, 0.89, 0.88, 0.5, 0.49, 0.48, 0.2]
        #expect(Autocut.keptCount(scores: scores, jumps: 1) == 3)
        #expect(Autocut.keptCount(scores: scores, jumps: 2) == 6)
        #expect(Autocut.keptCount(scores: scores, jumps: 3) == 7)
        // The same shape at another level of score cuts in the same place (no fixed threshold).
        #expect(Autocut.keptCount(scores: scores.map { $0 * 0.3 + 0.1 }, jumps: 1) == 3)
    }

    @Test func evenListsAndEdgeCases() {
        #expect(Autocut.keptCount(scores: [0.5, 0.4, 0.3, 0.2], jumps: 1) == 4)   // a straight line: no jump
        #expect(Autocut.keptCount(scores: [0.7, 0.7, 0.7], jumps: 1) == 3)
        #expect(Autocut.keptCount(scores: [0.9], jumps: 1) == 1)
        #expect(Autocut.keptCount(scores: [], jumps: 1) == 0)
        #expect(Autocut.keptCount(scores: [0.9, 0.2], jumps: 1) == 2)   // two points make a straight line
        #expect(Autocut.keptCount(scores: [0.9, 0.89, 0.2], jumps: 1) == 2)
    }
}
