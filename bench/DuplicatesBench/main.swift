// Time of VectorIndex.nearDuplicates (what GET /duplicates runs: blocked sgemm over the stored
// vectors, then complete linkage) on N clustered unit vectors with planted near-duplicates. Not a
// test: it measures, it asserts nothing.
//
//   swift build -c release --product duplicates-bench
//   .build/release/duplicates-bench [--rows 10000,100000] [--dim 512] [--min-score 0.95] [--runs 3]
//
// The library: scenes of 1...12 photos around a centre (cosine ~0.75 to each other, like photos of
// one event), every photo sharing a common direction (CLIP's embeddings of unrelated photos still
// score ~0.4), and 3% of photos given 1...4 near copies (cosine ~0.97...0.995: bursts, re-encodings).
// One JSON line per row count on stdout: rows, dim, min_score, runs, seconds (each run), groups
// returned (at most `limit`, the route's maximum), planted groups, how many of them were returned
// whole inside one group, and how many returned groups are exactly a planted one.
import Foundation
import SearchIndex

var rowCounts = [10_000, 100_000]
var dim = 512
var minScore: Float = 0.95
var runs = 3
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let flag = arguments.next() {
    guard let value = arguments.next() else { fatalError("\(flag) needs a value") }
    switch flag {
    case "--rows": rowCounts = value.split(separator: ",").compactMap { Int($0) }
    case "--dim": dim = Int(value) ?? dim
    case "--min-score": minScore = Float(value) ?? minScore
    case "--runs": runs = Int(value) ?? runs
    default: fatalError("unknown option \(flag)")
    }
}

/// SplitMix64 and Box-Muller: the same library on every run.
struct Random {
    var generator: SplitMix64
    init(state: UInt64) { generator = SplitMix64(seed: state) }
    mutating func next() -> UInt64 { generator.next() }
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
    mutating func gaussian() -> Float {
        (-2 * log(max(uniform(), 1e-7))).squareRoot() * cos(2 * .pi * uniform())
    }
    mutating func direction(_ dim: Int) -> [Float] { normalized((0..<dim).map { _ in gaussian() }) }
}

func normalized(_ v: [Float]) -> [Float] {
    let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return v.map { $0 / norm }
}

/// `weights` · `parts`, normalized.
func mix(_ parts: [[Float]], _ weights: [Float]) -> [Float] {
    var out = [Float](repeating: 0, count: parts[0].count)
    for (part, weight) in zip(parts, weights) { for i in out.indices { out[i] += weight * part[i] } }
    return normalized(out)
}

func library(rows: Int, dim: Int) -> (vectors: [[Float]], planted: [[Int64]]) {
    var random = Random(state: 2026)
    let common = random.direction(dim)
    var vectors: [[Float]] = []
    var planted: [[Int64]] = []
    vectors.reserveCapacity(rows)
    while vectors.count < rows {
        let centre = random.direction(dim)
        let photos = 1 + Int(random.next() % 12)
        for _ in 0..<photos where vectors.count < rows {
            let photo = mix([common, centre, random.direction(dim)], [0.65, 0.8, 0.55])
            vectors.append(photo)
            guard random.uniform() < 0.03 else { continue }
            var group: [Int64] = [Int64(vectors.count)]
            let copies = 1 + Int(random.next() % 4)
            let spread = 0.12 + 0.1 * random.uniform()   // cosine to the photo ~0.99...0.975
            for _ in 0..<copies where vectors.count < rows {
                vectors.append(mix([photo, random.direction(dim)], [1, spread]))
                group.append(Int64(vectors.count))
            }
            if group.count >= 2 { planted.append(group) }
        }
    }
    return (vectors, planted)
}

for rows in rowCounts {
    let (vectors, planted) = library(rows: rows, dim: dim)
    let index = try VectorIndex(dimension: dim)
    // Ids 1...rows in row order.
    index.apply(vectors.enumerated().map { .upsert(id: Int64($0.offset + 1), vector: $0.element) })
    var seconds: [Double] = []
    var groups: [DuplicateGroup] = []
    for _ in 0..<runs {
        let start = ContinuousClock.now
        groups = try index.nearDuplicates(minScore: minScore, limit: VectorIndex.maxNearDuplicateGroups)
        let elapsed = ContinuousClock.now - start
        seconds.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
    }
    let returned = groups.map { Set($0.ids) }
    let whole = planted.filter { group in returned.contains { $0.isSuperset(of: group) } }.count
    let plantedSets = Set(planted.map { Set($0) })
    let exact = returned.filter { plantedSets.contains($0) }.count
    let line: [String: Any] = [
        "rows": rows, "dim": dim, "min_score": Double(minScore), "runs": runs,
        "seconds": seconds.map { (($0 * 1000).rounded()) / 1000 },
        "groups": groups.count, "planted_groups": planted.count, "planted_groups_returned_whole": whole,
        "returned_groups_exactly_planted": exact, "limit": VectorIndex.maxNearDuplicateGroups,
        "gflops_per_s": ((Double(rows) * Double(rows) * Double(dim) / 1e9) / (seconds.sorted()[seconds.count / 2])).rounded(),
    ]
    let json = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
}
