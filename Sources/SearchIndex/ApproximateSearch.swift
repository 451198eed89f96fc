/// The graph's answer: a beam search of width max(efSearch, offset + k) over the int8 rows, plus the
/// vectors not linked yet, all re-scored exactly from the f32 rows; `total` as the exact path gives
/// it without minScore (how many vectors the filter allows).
enum ApproximateSearch {
    static func search(_ request: SearchRequest, state: borrowing IndexState, efSearch: Int) -> (hits: [ScoredID], total: Int) {
        guard let graph = state.graph else { return ([], 0) }
        let rows = state.rows
        let matrix = state.matrix
        let filter = request.filter
        let wanted = request.wanted(limit: rows.liveCount)
        let ef = max(efSearch, wanted)
        var selector = TopKSelector(capacity: wanted)
        request.query.withUnsafeBufferPointer { qBuffer in
            let q = qBuffer.baseAddress!
            rows.live.withUnsafeBufferPointer { live in
                rows.ids.withUnsafeBufferPointer { ids in
                    let eligible: (Int32) -> Bool = { slot in
                        live[Int(slot)] && (filter?.allows(ids[Int(slot)]) ?? true)
                    }
                    let found = rows.withScorer { scorer in
                        graph.search(q, ef: ef, slots: rows.slotCount, scorer: scorer, eligible: eligible)
                    }
                    for candidate in found {
                        let id = ids[Int(candidate.slot)]
                        if let score = matrix.exactScore(of: id, query: q) { selector.offer(id: id, score: score) }
                    }
                    for slot in state.pending where eligible(slot) {
                        let id = ids[Int(slot)]
                        if let score = matrix.exactScore(of: id, query: q) { selector.offer(id: id, score: score) }
                    }
                }
            }
        }
        return (request.page(selector), ExactSearch.eligibleCount(rows: rows, filter: filter))
    }
}
