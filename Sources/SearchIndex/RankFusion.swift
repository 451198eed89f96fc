/// Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): each list adds 1 / (c + rank)
/// to the ids it holds (rank from 1), so an id ranked well by several lists rises above one ranked
/// first by a single list. No scores are compared across lists, which is why it fuses a cosine
/// ranking with a BM25 one. c = 60, as in the paper (and Weaviate's and Elasticsearch's default).
public enum RankFusion {
    public static let c = 60.0

    /// The fused ranking of `lists` (each best first; an id at most once per list): ids by fused
    /// score, best first; ties by the order of the first list, then by id.
    public static func fuse(_ lists: [[Int64]]) -> [(id: Int64, score: Double)] {
        var scores: [Int64: Double] = [:]
        var firstSeen: [Int64: Int] = [:]
        var order = 0
        for list in lists {
            for (rank, id) in list.enumerated() {
                scores[id, default: 0] += 1 / (c + Double(rank + 1))
                if firstSeen[id] == nil { firstSeen[id] = order; order += 1 }
            }
        }
        return scores.map { (id: $0.key, score: $0.value) }.sorted { a, b in
            if a.score != b.score { return a.score > b.score }
            return firstSeen[a.id]! < firstSeen[b.id]!
        }
    }
}
