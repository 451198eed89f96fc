/// Reclaiming tombstones without a rebuild (the repair FreshDiskANN and hnswlib's replace-deleted
/// make): a node that links a tombstone re-picks its links, with the neighbour heuristic, among its
/// live links and the live links of each tombstone it had (the tombstone's neighbourhood passes to
/// it); once every node is repaired no live node links a tombstone, and they leave the graph.
extension HNSWGraph {
    /// Re-picks the links of `slot` at every level where one of them is not live. Returns whether it
    /// changed anything.
    @discardableResult
    mutating func repair(_ slot: Int32, scorer: RowScorer, live: (Int32) -> Bool) -> Bool {
        guard contains(slot) else { return false }
        var changed = false
        for level in 0...Int(levelOfSlot[Int(slot)]) {
            let list = neighbours(of: slot, level: level)
            guard list.contains(where: { !live($0) }) else { continue }
            var seen = Set<Int32>([slot])
            var candidates: [ScoredSlot] = []
            func consider(_ n: Int32) {
                guard live(n), seen.insert(n).inserted else { return }
                candidates.append(ScoredSlot(score: scorer.score(slot, n), slot: n))
            }
            for n in list {
                if live(n) { consider(n) } else { for m in neighbours(of: n, level: level) { consider(m) } }
            }
            setNeighbours(of: slot, level: level, selectNeighbours(candidates, limit: level == 0 ? m0 : m, scorer: scorer).map(\.slot))
            changed = true
        }
        return changed
    }

    /// Takes `slots` (tombstones no live node links any more) out of the graph; a new entry point
    /// (the highest live node) when the old one goes.
    mutating func unlink(_ slots: [Int32], live: (Int32) -> Bool) {
        for slot in slots where contains(slot) {
            levelOfSlot[Int(slot)] = -1
            count0[Int(slot)] = 0
            upper[slot] = nil
            nodeCount -= 1
        }
        guard entry >= 0, !contains(entry) || !live(entry) else { return }
        entry = -1
        topLevel = -1
        for s in 0..<levelOfSlot.count where levelOfSlot[s] >= 0 && Int(levelOfSlot[s]) > topLevel && live(Int32(s)) {
            entry = Int32(s)
            topLevel = Int(levelOfSlot[s])
        }
        if entry < 0, let any = levelOfSlot.indices.first(where: { levelOfSlot[$0] >= 0 }) {
            entry = Int32(any)   // only tombstones remain
            topLevel = Int(levelOfSlot[any])
        }
    }
}
