/// A group of near-identical images (a burst, re-encodings of one photo): every two of its images
/// score ≥ the `minScore` asked for, and `score` is the lowest of those pairwise scores.
public struct DuplicateGroup: Sendable, Equatable {
    /// Ascending (the oldest upload or first indexed file first).
    public let ids: [Int64]
    /// The lowest cosine similarity between two of `ids`.
    public let score: Float

    public init(ids: [Int64], score: Float) {
        self.ids = ids
        self.score = score
    }
}

extension VectorIndex {
    /// The `minScore` values `nearDuplicates` accepts: below 0.5, CLIP puts most photos of one kind of
    /// scene together, which is not what "duplicate" means, and the pairs would be most of all pairs.
    public static let nearDuplicateScores: ClosedRange<Float> = 0.5...1
    /// Groups one call returns at most.
    public static let maxNearDuplicateGroups = 1000
    /// Pairs scoring ≥ `minScore` one call keeps at most (~12 bytes each, plus the clustering's
    /// maps); more is refused (`tooManyPairs`): `minScore` is too low for this library.
    public static let maxNearDuplicatePairs = 1_000_000
    /// Float32 rounding allowed below `minScore`: the dot product of a unit vector with itself may
    /// come out as 0.99999994, and `minScore` 1 must still find identical vectors.
    static let nearDuplicateSlack: Float = 1e-6

    /// Groups of near-identical vectors: complete-linkage clusters (`CompleteLinkage`) of the pairs
    /// scoring ≥ `minScore` (less `nearDuplicateSlack`), so every two ids of a group are that
    /// similar, not merely chained through others. Groups of two or more ids, ordered by `score`
    /// descending (the surest duplicates first), then by size (larger first), then by first id;
    /// the first `limit` of them.
    ///
    /// The pairs come from blocked sgemm over a snapshot of the vectors (`SimilarPairs`): the read
    /// lock is held only to take the snapshot (the arrays are copy-on-write: a change applied
    /// meanwhile copies the matrix once instead of waiting for this call), so searches and uploads
    /// are not held up for the seconds a large library takes (rows² × dim / 2 multiply-adds).
    public func nearDuplicates(minScore: Float, limit: Int) throws(SearchIndexError) -> [DuplicateGroup] {
        guard Self.nearDuplicateScores.contains(minScore) else {
            throw .invalidArgument("min_score \(minScore) must be between \(Self.nearDuplicateScores.lowerBound) and \(Self.nearDuplicateScores.upperBound)")
        }
        guard (1...Self.maxNearDuplicateGroups).contains(limit) else {
            throw .invalidArgument("limit \(limit) must be between 1 and \(Self.maxNearDuplicateGroups)")
        }
        let (values, ids, dim) = matrix.read { ($0.values, $0.ids, $0.dim) }
        return try Self.nearDuplicates(values: values, ids: ids, dim: dim, minScore: minScore, limit: limit)
    }

    /// `nearDuplicates` on given rows (tests pass small tiles to cross tile edges, and a small `maxPairs`).
    static func nearDuplicates(values: [Float], ids: [Int64], dim: Int, minScore: Float, limit: Int,
                               rowBlock: Int = 512, columnBlock: Int = 2048,
                               maxPairs: Int = maxNearDuplicatePairs) throws(SearchIndexError) -> [DuplicateGroup] {
        guard let pairs = SimilarPairs.find(values: values, rows: ids.count, dim: dim,
                                            threshold: minScore - nearDuplicateSlack, maxPairs: maxPairs,
                                            rowBlock: rowBlock, columnBlock: columnBlock) else {
            throw .tooManyPairs(limit: maxPairs, minScore: minScore)
        }
        // Nodes: the rows in some pair, numbered by ascending id (so ties break by id, not by row).
        var rows = Array(Set(pairs.flatMap { [Int($0.first), Int($0.second)] }))
        rows.sort { ids[$0] < ids[$1] }
        var node = [Int: Int](minimumCapacity: rows.count)
        for (n, row) in rows.enumerated() { node[row] = n }
        let edges = pairs.map { (a: node[Int($0.first)]!, b: node[Int($0.second)]!, score: $0.score) }
        let groups = CompleteLinkage.clusters(nodeCount: rows.count, pairs: edges).map { cluster in
            DuplicateGroup(ids: cluster.members.map { ids[rows[$0]] }.sorted(), score: min(cluster.score, 1))
        }
        return Array(groups.sorted { x, y in
            if x.score != y.score { return x.score > y.score }
            if x.ids.count != y.ids.count { return x.ids.count > y.ids.count }
            return x.ids[0] < y.ids[0]
        }.prefix(limit))
    }
}
