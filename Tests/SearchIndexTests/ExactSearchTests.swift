import Foundation
import Testing
@testable import SearchIndex
import CSearchKernels

/// The exact path scans int8 rows and re-scores candidates from f32: it must still return exactly
/// what a double-precision brute force returns, on data built to hold near-ties.
@Suite("Exact search over the int8 matrix")
struct ExactSearchTests {
    /// Groups of rows a few 1e-6..1e-4 apart around random centres (int8 rounding errors are about
    /// 1e-3, so only the re-rank can order them), exact duplicates among them.
    static func nearTies(dim: Int, groups: Int, perGroup: Int, seed: UInt64) -> (stored: [Int64: [Float]], centres: [[Float]]) {
        var random = SeededRandom(state: seed)
        var stored: [Int64: [Float]] = [:]
        var centres: [[Float]] = []
        var id: Int64 = 1
        for _ in 0..<groups {
            let centre = (0..<dim).map { _ in random.gaussian() }
            centres.append(normalized(centre))
            for j in 0..<perGroup {
                let size = [1e-6, 1e-5, 1e-4][j % 3]
                stored[id] = j % 7 == 6 ? stored[id - 1]! : normalized(centre.map { $0 + size * random.gaussian() })
                id += 1
            }
        }
        return (stored, centres)
    }

    @Test func idsAndScoresEqualDoubleBruteForceOnNearTies() throws {
        let dim = 64
        let (stored, centres) = Self.nearTies(dim: dim, groups: 20, perGroup: 40, seed: 7)
        let index = try VectorIndex(dimension: dim)
        index.apply(stored.sorted { $0.key < $1.key }.map { .upsert(id: $0.key, vector: $0.value) })
        var random = SeededRandom(state: 99)
        for (n, centre) in centres.enumerated() {
            // A query near one group: its 40 rows are the top, packed within about 1e-4 of each other.
            let query = try index.unitVector(centre.map { $0 + Float(0.01 * random.gaussian()) }, what: "query \(n)")
            let reference = bruteForce(query, stored)
            for (k, offset) in [(10, 0), (25, 5), (1, 0), (60, 30)] {
                let (hits, total) = try index.search(query, k: k, offset: offset, exact: true)
                #expect(total == stored.count)
                #expect(hits.map(\.id) == reference[offset ..< offset + k].map(\.id), "query \(n) k \(k) offset \(offset)")
                for (hit, ref) in zip(hits, reference[offset...]) { #expect(abs(Double(hit.score) - ref.score) < 1e-6) }
            }
        }
    }

    @Test func minScoreCountsEveryRowAboveIt() throws {
        let dim = 48
        let (stored, centres) = Self.nearTies(dim: dim, groups: 10, perGroup: 30, seed: 3)
        let index = try VectorIndex(dimension: dim)
        index.apply(stored.map { .upsert(id: $0.key, vector: $0.value) })
        for centre in centres.prefix(5) {
            let reference = bruteForce(centre, stored)
            // Thresholds inside a packed group: the bounds straddle them and rows must be re-scored.
            for rank in [3, 17, 29, 45] {
                let threshold = Float(reference[rank].score)
                // Compared as a hit reports its score: the double rounded to float.
                let expected = reference.filter { Float($0.score) >= threshold }
                let (hits, total) = try index.search(centre, k: 5, minScore: threshold, exact: true)
                #expect(total == expected.count)
                #expect(hits.map(\.id) == expected.prefix(5).map(\.id))
                let none = try index.search(centre, k: 0, minScore: threshold, exact: true)
                #expect(none.hits.isEmpty && none.total == expected.count)
                // A hit's own reported score as minScore keeps that hit.
                if let last = hits.last {
                    let again = try index.search(centre, k: 5, minScore: last.score, exact: true)
                    #expect(again.hits.contains(last))
                }
            }
        }
    }

    /// Both filter paths: a selective filter visits its ids, a broad one filters the scan.
    @Test func filtersOnBothPaths() throws {
        let dim = 32
        var data = ClusteredVectors(dim: dim, intrinsic: 8, clusters: 10, seed: 11)
        var stored: [Int64: [Float]] = [:]
        for id in 1...3000 { stored[Int64(id)] = data.next() }
        let index = try VectorIndex(dimension: dim)
        index.apply(stored.map { .upsert(id: $0.key, vector: $0.value) })
        for (name, allowed) in [("every 97th", { (id: Int64) in id % 97 == 0 }), ("odd", { (id: Int64) in id % 2 == 1 })] {
            let filter = IDFilter(allowing: (Int64(1)...3100).filter(allowed))   // ids past 3000 hold no vector
            for _ in 0..<5 {
                let query = data.next()
                let reference = bruteForce(query, stored, allowed: allowed)
                let (hits, total) = try index.search(query, k: 10, offset: 2, filter: filter, exact: true)
                #expect(total == reference.count, "\(name)")
                #expect(hits.map(\.id) == reference[2..<12].map(\.id), "\(name)")
            }
        }
    }

    /// Removed rows never come back; their slots are reused (no graph below the threshold).
    @Test func removalsAndReplacements() throws {
        let dim = 16
        var data = ClusteredVectors(dim: dim, intrinsic: 4, clusters: 5, seed: 5)
        var stored: [Int64: [Float]] = [:]
        for id in 1...500 { stored[Int64(id)] = data.next() }
        let index = try VectorIndex(dimension: dim)
        index.apply(stored.map { .upsert(id: $0.key, vector: $0.value) })
        var changes: [VectorChange] = []
        for id in stride(from: 1, through: 500, by: 3) {
            stored[Int64(id)] = nil
            changes.append(.remove(id: Int64(id)))
        }
        for id in stride(from: 2, through: 500, by: 5) {
            let v = data.next()
            stored[Int64(id)] = v
            changes.append(.upsert(id: Int64(id), vector: v))
        }
        index.apply(changes)
        #expect(index.count == stored.count)
        #expect(index.footprint.tombstones == 0)
        // The f32 rows stay dense (what a scan over every vector reads).
        let (values, ids) = index.matrix.read { ($0.values, $0.ids) }
        #expect(values.count == stored.count * dim && Set(ids) == Set(stored.keys))
        for (row, id) in ids.enumerated() { #expect(Array(values[row * dim ..< (row + 1) * dim]) == stored[id]) }
        for _ in 0..<10 {
            let query = data.next()
            let reference = bruteForce(query, stored)
            let (hits, total) = try index.search(query, k: 20)
            #expect(total == stored.count)
            #expect(hits.map(\.id) == reference.prefix(20).map(\.id))
        }
    }

    /// The scan split between threads scores every row as one thread does (odd row counts too).
    @Test func splitScanEqualsOneThread() throws {
        var data = ClusteredVectors(dim: 40, intrinsic: 8, clusters: 5, seed: 9)
        var rows = QuantizedRows(dim: 40)
        for id in 0..<1001 { _ = data.next().withUnsafeBufferPointer { rows.add(id: Int64(id), vector: $0.baseAddress!) } }
        let (codes, scale, _) = ExactSearch.quantized(data.next())
        let one = ExactSearch.scores(rows: rows, queryCodes: codes, queryScale: scale, parts: 1)
        for parts in [2, 3] {
            #expect(ExactSearch.scores(rows: rows, queryCodes: codes, queryScale: scale, parts: parts) == one)
        }
    }

    /// The scan's int8 scores (AVX-512 VNNI, AVX2 or portable, whichever this CPU runs) equal the
    /// integer definition exactly, for dimensions past and short of the 64-byte and 32-byte blocks
    /// and row counts past and short of the 4-row groups, with codes at both ends of the range.
    @Test(arguments: [512, 100, 64, 37, 8])
    func int8ScoresEqualTheirDefinition(dim: Int) {
        var random = SeededRandom(state: UInt64(dim))
        for rows in [1, 3, 4, 9] {
            let codes = (0..<rows * dim).map { i in i % 7 == 0 ? Int8(i % 2 == 0 ? 127 : -127) : Int8(Int(random.next() % 255) - 127) }
            let query = (0..<dim).map { i in i % 5 == 0 ? Int8(-127) : Int8(Int(random.next() % 255) - 127) }
            let scales = (0..<rows).map { _ in Float(random.unitInterval()) / 100 + 1e-3 }
            let queryScale: Float = 0.0123
            var out = [Float](repeating: .nan, count: rows)
            sk_scores_i8_i8(codes, scales, rows, dim, query, queryScale, &out)
            for r in 0..<rows {
                let sum = (0..<dim).reduce(Int32(0)) { $0 + Int32(codes[r * dim + $1]) * Int32(query[$1]) }
                #expect(out[r].bitPattern == (scales[r] * queryScale * Float(sum)).bitPattern, "dim \(dim), row \(r) of \(rows)")
            }
        }
    }
}
