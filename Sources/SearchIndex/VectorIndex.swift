import NeuralOps

/// One change to the vectors a search sees, in commit order.
public enum VectorChange: Sendable, Equatable {
    /// Adds or replaces the (unit-length) vector of `id`.
    case upsert(id: Int64, vector: [Float])
    case remove(id: Int64)
}

/// An image id and its cosine similarity to a query.
public struct ScoredID: Sendable, Equatable {
    public let id: Int64
    public let score: Float

    public init(id: Int64, score: Float) {
        self.id = id
        self.score = score
    }
}

/// Every vector of one model in memory, for exact top-k by cosine similarity. Vector search only:
/// it knows ids and vectors, nothing of rows, files or SQL. Safe to use from many threads: searches
/// run concurrently with each other and wait only while a batch of changes is applied.
public final class VectorIndex: Sendable {
    public let dimension: Int
    /// Internal, not private: `nearDuplicates` (NearDuplicates.swift) snapshots it under the read lock.
    let matrix: ReadWriteLocked<EmbeddingMatrix>

    public init(dimension: Int) throws(SearchIndexError) {
        guard dimension > 0 else { throw .invalidArgument("dimension \(dimension) must be positive") }
        self.dimension = dimension
        matrix = ReadWriteLocked(EmbeddingMatrix(dim: dimension))
    }

    /// Vectors held (the images a search can return).
    public var count: Int { matrix.read { $0.count } }

    public func contains(_ id: Int64) -> Bool { matrix.read { $0.contains(id) } }

    /// Every id held, in no particular order.
    public var ids: [Int64] { matrix.read { $0.ids } }

    /// The stored unit vector of `id`, nil when there is none.
    public func vector(of id: Int64) -> [Float]? { matrix.read { $0.vector(of: id) } }

    /// Applies `changes` in order under one write lock: a search sees all of them or none.
    /// Upserted vectors must be `dimension` long and unit length (`unitVector(_:what:)` makes them).
    public func apply(_ changes: [VectorChange]) {
        guard !changes.isEmpty else { return }
        matrix.write { matrix in
            for change in changes {
                switch change {
                case .upsert(let id, let vector): matrix.upsert(id: id, vector: vector)
                case .remove(let id): matrix.remove(id: id)
                }
            }
        }
    }

    /// Checks a vector's length and returns its unit-length copy.
    public func unitVector(_ vector: [Float], what: String) throws(SearchIndexError) -> [Float] {
        guard vector.count == dimension else {
            throw .dimensionMismatch(what: what, expected: dimension, actual: vector.count)
        }
        guard let unit = l2Normalized(vector) else {
            throw .invalidEmbedding("\(what) is all zeros or holds NaN or infinity")
        }
        return unit
    }

    /// Exact top-k by cosine similarity. `query` need not be normalized; `offset` skips the first
    /// results; `total` = how many vectors score ≥ `minScore` (all when nil). Ties: lower id first.
    /// With a `filter`, only the ids it allows are ranked (a filtered top-k: k hits whenever k match).
    public func search(_ query: [Float], k: Int, offset: Int = 0, minScore: Float? = nil,
                       filter: IDFilter? = nil) throws(SearchIndexError) -> (hits: [ScoredID], total: Int) {
        guard k >= 0 else { throw .invalidArgument("k = \(k) must not be negative") }
        guard offset >= 0 else { throw .invalidArgument("offset = \(offset) must not be negative") }
        let unit = try unitVector(query, what: "query")
        return matrix.read { $0.search(unit, k: k, offset: offset, minScore: minScore, filter: filter) }
    }
}
