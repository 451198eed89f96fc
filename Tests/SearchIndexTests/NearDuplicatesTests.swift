import Foundation
import Testing
@testable import SearchIndex

/// `nearDuplicates` against the same rule computed independently: every pair's cosine in Double,
/// then complete-linkage clustering done naively (merge the two clusters whose lowest cross pair is
/// highest, recomputed from the full matrix each step, until it falls below the threshold).
@Suite("near duplicates")
struct NearDuplicatesTests {
    /// A seeded generator (SplitMix64) and Gaussian noise (Box-Muller).
    struct Random {
        var generator: SplitMix64
        init(state: UInt64) { generator = SplitMix64(seed: state) }
        mutating func next() -> UInt64 { generator.next() }
        mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
        mutating func gaussian() -> Double {
            (-2 * log(max(uniform(), 1e-300))).squareRoot() * cos(2 * .pi * uniform())
        }
    }

    static func unit(_ v: [Double]) -> [Float] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { Float($0 / norm) }
    }

    /// Scenes of 1...8 photos around a centre, each scene with its own spread, so pairwise scores
    /// run from ~0.99 down past the threshold and complete linkage has real choices to make; ids
    /// out of row order.
    static func library(seed: UInt64, dim: Int, scenes: Int) -> (vectors: [[Float]], ids: [Int64]) {
        var random = Random(state: seed)
        var vectors: [[Float]] = []
        for _ in 0..<scenes {
            let centre = (0..<dim).map { _ in random.gaussian() }
            let centreNorm = centre.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let spread = 0.01 + 0.05 * random.uniform()
            let count = 1 + Int(random.next() % 8)
            for _ in 0..<count {
                vectors.append(unit(centre.map { $0 / centreNorm + spread * random.gaussian() }))
            }
        }
        let ids = (0..<vectors.count).map { Int64(1000 + (($0 * 7919) % vectors.count) * 3) }
        return (vectors, ids)
    }

    struct Expected {
        let ids: [Int64]
        let score: Double
    }

    /// The rule of `nearDuplicates`, naively in Double.
    static func bruteForce(_ vectors: [[Float]], ids: [Int64], minScore: Double) -> [Expected] {
        let n = vectors.count
        var cosine = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n {
            for j in 0..<n {
                cosine[i][j] = zip(vectors[i], vectors[j]).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            }
        }
        let threshold = minScore - Double(VectorIndex.nearDuplicateSlack)
        var clusters: [[Int]] = (0..<n).map { [$0] }
        while true {
            var best: (a: Int, b: Int, link: Double)?
            for a in clusters.indices {
                for b in clusters.indices where b > a {
                    var link = Double.infinity
                    for x in clusters[a] { for y in clusters[b] { link = min(link, cosine[x][y]) } }
                    if link >= threshold, link > (best?.link ?? -.infinity) { best = (a, b, link) }
                }
            }
            guard let best else { break }
            clusters[best.a] += clusters[best.b]
            clusters.remove(at: best.b)
        }
        return clusters.filter { $0.count >= 2 }.map { members in
            var lowest = Double.infinity
            for x in members { for y in members where y != x { lowest = min(lowest, cosine[x][y]) } }
            return Expected(ids: members.map { ids[$0] }.sorted(), score: min(lowest, 1))
        }.sorted { x, y in
            if x.score != y.score { return x.score > y.score }
            if x.ids.count != y.ids.count { return x.ids.count > y.ids.count }
            return x.ids[0] < y.ids[0]
        }
    }

    static func expectSame(_ got: [DuplicateGroup], _ expected: [Expected], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(got.map(\.ids) == expected.map(\.ids), sourceLocation: sourceLocation)
        for (group, reference) in zip(got, expected) {
            #expect(abs(Double(group.score) - reference.score) < 1e-5, "\(group) vs \(reference)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [(rowBlock: 7, columnBlock: 13), (rowBlock: 64, columnBlock: 5), (rowBlock: 512, columnBlock: 2048)])
    func groupsEqualBruteForce(rowBlock: Int, columnBlock: Int) throws {
        let dim = 48
        let (vectors, ids) = Self.library(seed: 7, dim: dim, scenes: 70)
        let minScore: Float = 0.93
        let expected = Self.bruteForce(vectors, ids: ids, minScore: Double(minScore))
        // The data holds real choices: several groups, some scene split into more than one group.
        #expect(expected.count >= 10)
        let got = try VectorIndex.nearDuplicates(values: vectors.flatMap { $0 }, ids: ids, dim: dim, minScore: minScore,
                                                 limit: 1000, rowBlock: rowBlock, columnBlock: columnBlock)
        Self.expectSame(got, expected)
        for group in got { #expect(group.score >= minScore - VectorIndex.nearDuplicateSlack) }
    }

    @Test func theIndexMethodReadsTheStoredVectors() throws {
        let dim = 32
        let (vectors, ids) = Self.library(seed: 11, dim: dim, scenes: 40)
        let index = try VectorIndex(dimension: dim)
        index.apply(zip(ids, vectors).map { .upsert(id: $0, vector: $1) })
        // A removal swaps the last row into the hole: groups must still name the right ids.
        let removed = ids[3]
        index.apply([.remove(id: removed)])
        let kept = zip(ids, vectors).filter { $0.0 != removed }
        let expected = Self.bruteForce(kept.map(\.1), ids: kept.map(\.0), minScore: 0.9)
        #expect(expected.count >= 5)
        Self.expectSame(try index.nearDuplicates(minScore: 0.9, limit: 1000), expected)
        // `limit` keeps the first groups of that order.
        Self.expectSame(try index.nearDuplicates(minScore: 0.9, limit: 3), Array(expected.prefix(3)))
    }

    /// a~b and b~c are above the threshold, a~c is not: complete linkage keeps {a, b} (the closer
    /// pair) and leaves c alone; a chain is not a group.
    @Test func aChainIsNotOneGroup() throws {
        // Unit vectors in the plane at angles 0, θ₁, θ₁+θ₂: cos θ₁ = 0.975, cos θ₂ = 0.965.
        let t1 = acos(0.975), t2 = acos(0.965)
        let vectors: [[Float]] = [0, t1, t1 + t2].map { [Float(cos($0)), Float(sin($0)), 0] }
        let got = try VectorIndex.nearDuplicates(values: vectors.flatMap { $0 }, ids: [10, 20, 30], dim: 3,
                                                 minScore: 0.95, limit: 10)
        #expect(got.map(\.ids) == [[10, 20]])
        #expect(abs(got[0].score - 0.975) < 1e-5)
        // Lower the threshold below cos(θ₁+θ₂) ≈ 0.884 and all three are one group, scored by a~c.
        let all = try VectorIndex.nearDuplicates(values: vectors.flatMap { $0 }, ids: [10, 20, 30], dim: 3,
                                                 minScore: 0.88, limit: 10)
        #expect(all.map(\.ids) == [[10, 20, 30]])
        #expect(abs(Double(all[0].score) - cos(t1 + t2)) < 1e-5)
    }

    @Test func identicalVectorsMeetMinScoreOne() throws {
        let v = Self.unit([0.3, -0.2, 0.7, 0.1, 0.9])
        let w = Self.unit([0.3, -0.2, 0.7, 0.1, 0.8])
        let got = try VectorIndex.nearDuplicates(values: [v, w, v, v].flatMap { $0 }, ids: [4, 3, 2, 1], dim: 5,
                                                 minScore: 1, limit: 10)
        #expect(got.map(\.ids) == [[1, 2, 4]])
        #expect(got[0].score <= 1)
    }

    @Test func tooManyPairsIsRefused() throws {
        let v = Self.unit([1, 2, 3])
        #expect(throws: SearchIndexError.tooManyPairs(limit: 100, minScore: 0.9)) {
            try VectorIndex.nearDuplicates(values: Array([[Float]](repeating: v, count: 30).joined()), ids: (1...30).map(Int64.init),
                                           dim: 3, minScore: 0.9, limit: 10, rowBlock: 4, columnBlock: 4, maxPairs: 100)
        }
    }

    @Test func argumentsAreChecked() throws {
        let index = try VectorIndex(dimension: 4)
        #expect(try index.nearDuplicates(minScore: 0.95, limit: 10).isEmpty)
        for (minScore, limit) in [(Float(0.4), 10), (1.01, 10), (.nan, 10), (0.9, 0), (0.9, 1001)] {
            #expect(throws: SearchIndexError.self) { try index.nearDuplicates(minScore: minScore, limit: limit) }
        }
    }
}
