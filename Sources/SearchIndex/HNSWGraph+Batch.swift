import Dispatch

/// Parallel insertion: a batch of new nodes searches the graph as it stands on `threads` threads at
/// once (`candidates` only reads), then the nodes are linked one after another. A node did not see
/// the batch's earlier nodes during its search, so they are added to its candidates, scored
/// directly: each node chooses among what a one-at-a-time insert could have found.
extension HNSWGraph {
    /// Links `batch` (live slots not in the graph; `vectors[i]` points at the dim floats of batch[i]).
    /// live: (slots), which slots may become neighbours.
    mutating func insert(batch: [Int32], vectors: [UnsafePointer<Float>], slots: Int, scorer: RowScorer,
                         live: UnsafeBufferPointer<Bool>, threads: Int) {
        let levels = batch.map { _ in randomLevel() }
        var found = [[[ScoredSlot]]](repeating: [], count: batch.count)
        found.withUnsafeMutableBufferPointer { out in
            let job = SearchJob(graph: self, batch: batch, levels: levels, vectors: vectors, slots: slots,
                                scorer: scorer, live: live, out: out)
            let threads = min(threads, batch.count)
            DispatchQueue.concurrentPerform(iterations: threads) { part in job.run(part: part, of: threads) }
        }
        for i in batch.indices {
            for j in 0..<i {
                let score = scorer.score(batch[i], batch[j])
                for l in 0...min(levels[i], levels[j]) { found[i][l].append(ScoredSlot(score: score, slot: batch[j])) }
            }
            link(batch[i], level: levels[i], found: found[i], slots: slots, scorer: scorer, live: { live[Int($0)] })
        }
    }
}

/// One batch's searches, shared by the threads: each writes only its own entries of `out`, and
/// nothing writes the graph (a copy sharing its storage, dropped before the linking) meanwhile.
private struct SearchJob: @unchecked Sendable {
    let graph: HNSWGraph
    let batch: [Int32]
    let levels: [Int]
    let vectors: [UnsafePointer<Float>]
    let slots: Int
    let scorer: RowScorer
    let live: UnsafeBufferPointer<Bool>
    let out: UnsafeMutableBufferPointer<[[ScoredSlot]]>

    func run(part: Int, of parts: Int) {
        for i in stride(from: part, to: batch.count, by: parts) {
            out[i] = graph.candidates(for: batch[i], vector: vectors[i], level: levels[i], slots: slots,
                                      scorer: scorer, live: { live[Int($0)] })
        }
    }
}
