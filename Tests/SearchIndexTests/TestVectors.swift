import Foundation
@testable import SearchIndex

/// Seeded vectors for the search tests: the index's own SplitMix64, so every run sees the same data.
typealias SeededRandom = SplitMix64

extension SplitMix64 {
    init(state: UInt64) {
        self.init(seed: state)
    }

    /// Standard normal (Box–Muller).
    mutating func gaussian() -> Double {
        let u = unitInterval()
        let v = Double(next() >> 11) / Double(1 << 53)
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}

func normalized(_ v: [Double]) -> [Float] {
    let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return v.map { Float($0 / norm) }
}

/// CLIP-like vectors: a mixture of `clusters` Gaussians in an `intrinsic`-dimensional subspace
/// (a random linear map into `dim`), plus isotropic noise, normalized. Uniform random vectors would
/// make every graph index look bad and say nothing.
struct ClusteredVectors {
    let dim: Int
    private let basis: [[Double]]        // (intrinsic, dim)
    private let centres: [[Double]]      // (clusters, intrinsic)
    private var random: SeededRandom

    init(dim: Int, intrinsic: Int = 16, clusters: Int = 50, seed: UInt64) {
        self.dim = dim
        random = SeededRandom(state: seed)
        var r = random
        basis = (0..<intrinsic).map { _ in (0..<dim).map { _ in r.gaussian() / Double(dim).squareRoot() } }
        centres = (0..<clusters).map { _ in (0..<intrinsic).map { _ in r.gaussian() } }
        random = r
    }

    mutating func next() -> [Float] {
        let centre = centres[Int(random.next() % UInt64(centres.count))]
        let latent = centre.map { $0 + 0.6 * random.gaussian() }
        var v = [Double](repeating: 0, count: dim)
        for (weight, row) in zip(latent, basis) {
            for i in 0..<dim { v[i] += weight * row[i] }
        }
        for i in 0..<dim { v[i] += 0.15 * random.gaussian() / Double(dim).squareRoot() }
        return normalized(v)
    }
}

/// Scores in double, one by one: the reference every search is held to. Best first, ties by id.
func bruteForce(_ query: [Float], _ stored: [Int64: [Float]], allowed: ((Int64) -> Bool)? = nil) -> [(id: Int64, score: Double)] {
    stored.compactMap { id, v -> (id: Int64, score: Double)? in
        if let allowed, !allowed(id) { return nil }
        return (id, zip(query, v).reduce(0.0) { $0 + Double($1.0) * Double($1.1) })
    }.sorted { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
}

/// Options for tests: a graph from `threshold` vectors on, linked inside `apply` (no background builder).
func foregroundGraphOptions(threshold: Int) -> VectorIndex.Options {
    var options = VectorIndex.Options()
    options.approximateThreshold = threshold
    options.buildInBackground = false
    return options
}
