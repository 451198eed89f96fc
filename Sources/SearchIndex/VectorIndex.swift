import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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

/// Every vector of one model in memory, for top-k by cosine similarity. Vector search only: it
/// knows ids and vectors, nothing of rows, files or SQL. Safe to use from many threads: searches
/// run concurrently with each other and wait only while a batch of changes is applied (or the
/// graph builder links a few milliseconds' worth of new vectors).
///
/// Two searches, one API:
/// - exact: the compact int8 matrix scanned, the candidates re-scored in double from the f32 rows
///   (`ExactSearch`): the same ids and scores as a brute-force f32 search.
/// - approximate: the HNSW graph (`HNSWGraph`), once the index holds `approximateThreshold` vectors;
///   its best `efSearch` (at least offset + k) are re-scored exactly. New vectors are linked by a
///   background builder; until it catches up they are scored exactly beside the graph's results, so
///   an upsert is searchable at once either way.
///
/// `total` and `offset` on the approximate path: `offset` skips the first results of a beam that is
/// at least offset + k wide, so pages stay consistent; `total` is how many vectors the filter allows
/// (all without one) — the same figure the exact path gives without `minScore`. With `minScore`, or
/// when a filter allows under `exactFilterFraction` of the vectors (a graph walk would visit
/// mostly filtered-out nodes), or offset + k over `maxApproximateResults`, the exact path answers.
public final class VectorIndex: Sendable {
    public struct Options: Sendable, Equatable {
        /// Below this many vectors there is no graph and every search is exact. Measured here
        /// (search-bench, 512-d clustered vectors): at 20k the exact scan takes 0.31 ms p50 and the
        /// graph 0.12 ms at recall@10 0.9997; at 100k 4.8 ms (one thread) against 0.17 ms. Under 20k
        /// the exact answer costs under a third of a millisecond, not worth a graph's memory, build
        /// and recall below 1.
        public var approximateThreshold = 20_000
        /// The graph's links per node (2M at level 0) and its construction beam.
        public var m = 16
        public var efConstruction = 128
        /// The search beam at up to `efSearchRows` live vectors; above, it grows as
        /// efSearch · (live / efSearchRows)^0.75 (a graph of 1M needs a wider beam than one of 100k
        /// for the same recall: 0.954 at 64 measured at 1M, 0.998 at 100k). Never under 2 · (offset + k).
        public var efSearch = 64
        public var efSearchRows = 250_000
        /// A filter allowing fewer than this fraction of the vectors goes to the exact path.
        public var exactFilterFraction = 0.03
        /// offset + k above this goes to the exact path.
        public var maxApproximateResults = 1000
        /// Link new vectors on a background queue (false: inside `apply`, for tests).
        public var buildInBackground = true
        /// Tombstones (deleted vectors the graph still routes through) are reclaimed once they are
        /// this fraction of the graph's nodes.
        public var reclaimFraction = 0.1
        /// Threads linking new vectors into the graph (batches of 16 per thread search at once,
        /// then link in turn); 1 links one vector at a time. 1 by default: measured here (search-bench
        /// --build-threads, 100k rows, 2 cores, load 1.5 to 3) two threads took 16.1 s against 14.4 s
        /// for one, at the same recall: only the searches run in parallel, and the linking (each
        /// neighbour's heuristic re-pick) left serial costs as much.
        public var linkThreads = 1

        public init() {}
    }

    /// What the index holds, for benchmarks and metrics.
    public struct Footprint: Sendable, Equatable {
        public let vectors: Int
        public let matrixBytes: Int
        public let compactBytes: Int
        public let graphBytes: Int
        public let graphNodes: Int
        public let tombstones: Int
        public let pending: Int
    }

    public let dimension: Int
    public let options: Options
    let state: ReadWriteLocked<IndexState>
    private let builder = DispatchQueue(label: "SearchIndex.VectorIndex.builder")

    public init(dimension: Int, options: Options = Options()) throws(SearchIndexError) {
        guard dimension > 0 else { throw .invalidArgument("dimension \(dimension) must be positive") }
        guard options.m >= 2 && options.m <= 127 else { throw .invalidArgument("m = \(options.m) must be in 2...127") }
        guard options.efSearch >= 1 && options.efConstruction >= 1 else {
            throw .invalidArgument("efSearch \(options.efSearch) and efConstruction \(options.efConstruction) must be positive")
        }
        self.dimension = dimension
        self.options = options
        var initial = IndexState(dim: dimension)
        initial.reclaimFraction = options.reclaimFraction
        initial.linkThreads = max(1, options.linkThreads)
        state = ReadWriteLocked(initial)
    }

    /// The f32 rows alone, under the read lock (a scan over every vector, such as near-duplicates,
    /// snapshots `values` and `ids` with `matrix.read { ... }`).
    var matrix: MatrixAccess { MatrixAccess(state: state) }

    struct MatrixAccess {
        let state: ReadWriteLocked<IndexState>

        func read<T>(_ body: (borrowing EmbeddingMatrix) -> T) -> T {
            state.read { body($0.matrix) }
        }
    }

    /// Vectors held (the images a search can return).
    public var count: Int { matrix.read { $0.count } }

    public func contains(_ id: Int64) -> Bool { matrix.read { $0.contains(id) } }

    /// Every id held, in no particular order.
    public var ids: [Int64] { matrix.read { $0.ids } }

    /// The stored unit vector of `id`, nil when there is none.
    public func vector(of id: Int64) -> [Float]? { matrix.read { $0.vector(of: id) } }

    public var footprint: Footprint { state.read { $0.footprint } }

    var graphParameters: HNSWGraph.Parameters {
        HNSWGraph.Parameters(m: options.m, efConstruction: options.efConstruction)
    }

    /// Applies `changes` in order under one write lock: a search sees all of them or none.
    /// Upserted vectors must be `dimension` long and unit length (`unitVector(_:what:)` makes them).
    public func apply(_ changes: [VectorChange]) {
        guard !changes.isEmpty else { return }
        let threshold = options.approximateThreshold
        let parameters = graphParameters
        let background = options.buildInBackground
        let schedule = state.write { state -> Bool in
            for change in changes {
                switch change {
                case .upsert(let id, let vector): state.upsert(id: id, vector: vector)
                case .remove(let id): state.remove(id: id)
                }
            }
            state.startGraphIfLarge(threshold: threshold, parameters: parameters)
            guard state.hasBuildWork, !state.buildScheduled else { return false }
            state.buildScheduled = background
            return background
        }
        if schedule {
            startBuilder()
        } else if !background {
            while linkTurn(budget: .seconds(1_000_000)) {}
        }
    }

    /// Queues a builder run unless one is queued or running (or links now without a background builder).
    func scheduleBuild() {
        let background = options.buildInBackground
        let start = state.write { state -> Bool in
            guard state.hasBuildWork, !state.buildScheduled else { return false }
            state.buildScheduled = background
            return true
        }
        guard start else { return }
        if background { startBuilder() } else { while linkTurn(budget: .seconds(1_000_000)) {} }
    }

    private func startBuilder() {
        // Weak: an index dropped while its graph grows stops the builder after one turn.
        builder.async { [weak self] in
            while let index = self, index.linkTurn(budget: .milliseconds(10)) {}
        }
    }

    /// Links every pending vector into the graph (and reclaims tombstones when due) now, on the
    /// caller's thread (benchmarks time the build with it; tests make the graph complete first).
    public func finishBuilding() {
        builder.sync { while linkTurn(budget: .milliseconds(10)) {} }
    }

    /// Links pending vectors for up to `budget` under the write lock (searches get in between
    /// turns); true when some remain.
    private func linkTurn(budget: Duration) -> Bool {
        state.write { state -> Bool in
            let more = state.build(budget: budget)
            if !more { state.buildScheduled = false }
            return more
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

    /// Top-k by cosine similarity. `query` need not be normalized; `offset` skips the first
    /// results; `total` = how many vectors score ≥ `minScore` (all when nil). Ties: lower id first.
    /// With a `filter`, only the ids it allows are ranked (a filtered top-k: k hits whenever k match).
    /// `exact` forces the exact scan; otherwise a large index answers from the graph (see the type's
    /// notes for `total` and `offset` there).
    /// `efSearch` overrides the beam width (benchmarks sweep it); nil: `beamWidth(live:wanted:)`.
    public func search(_ query: [Float], k: Int, offset: Int = 0, minScore: Float? = nil,
                       filter: IDFilter? = nil, exact: Bool = false, efSearch: Int? = nil) throws(SearchIndexError) -> (hits: [ScoredID], total: Int) {
        guard k >= 0 else { throw .invalidArgument("k = \(k) must not be negative") }
        guard offset >= 0 else { throw .invalidArgument("offset = \(offset) must not be negative") }
        let request = SearchRequest(query: try unitVector(query, what: "query"), k: k, offset: offset,
                                    minScore: minScore, filter: filter)
        let options = options
        return state.read { state in
            if exact || !Self.graphAnswers(request, state: state, options: options) {
                return ExactSearch.search(request, rows: state.rows, matrix: state.matrix)
            }
            let ef = efSearch ?? Self.beamWidth(options, live: state.rows.liveCount, wanted: request.wanted(limit: Int.max))
            return ApproximateSearch.search(request, state: state, efSearch: ef)
        }
    }

    /// The graph search's beam for `live` vectors and offset + k = `wanted` (see `Options.efSearch`).
    public func beamWidth(live: Int, wanted: Int) -> Int { Self.beamWidth(options, live: live, wanted: wanted) }

    static func beamWidth(_ options: Options, live: Int, wanted: Int) -> Int {
        let growth = pow(max(1, Double(live) / Double(max(1, options.efSearchRows))), 0.75)
        return max(Int((Double(options.efSearch) * growth).rounded()), 2 * wanted)
    }

    private static func graphAnswers(_ request: SearchRequest, state: borrowing IndexState, options: Options) -> Bool {
        let live = state.rows.liveCount
        guard state.graph != nil, live >= options.approximateThreshold, request.minScore == nil,
              request.wanted(limit: Int.max) <= options.maxApproximateResults,
              state.pending.count <= max(1000, live / 50) else { return false }
        if let filter = request.filter, Double(filter.count) < options.exactFilterFraction * Double(live) { return false }
        return true
    }
}
