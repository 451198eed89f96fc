#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hierarchical navigable small world graph (Malkov & Yashunin, "Efficient and robust approximate
/// nearest neighbor search using HNSW graphs", 2016/2018): the approximate index. Nodes are slots of
/// a `QuantizedRows`, scored by inner product (cosine for unit vectors) on the int8 rows; callers
/// re-rank what it returns with the exact f32 rows.
///
/// - Insert (the paper's algorithm 1): a level drawn with P(level ≥ l) = M^-l; greedy descent from
///   the entry point to that level, then at each level down to 0 a beam search of width
///   `efConstruction` whose results are thinned by the neighbour-selection heuristic (algorithm 4)
///   to M links; each neighbour links back, re-running the heuristic when it is over its maximum
///   (2M at level 0, M above). The search half only reads the graph, so a batch of new nodes
///   searches on every core at once and then links one after another (`HNSWGraph+Batch.swift`).
/// - Delete: the slot turns dead in the `QuantizedRows` and stays a tombstone: searches route
///   through it but never return it; new nodes never choose it as a neighbour, and a neighbour list
///   that overflows drops its tombstones first. Once tombstones pass a fraction of the nodes they
///   are reclaimed (`HNSWGraph+Reclaim.swift`): each node linking one re-picks its links among its
///   live links and the tombstones' live links, then the tombstones leave the graph and their slots
///   are reused. No rebuild.
/// - Filter: an `eligible` predicate decides what enters the results; routing ignores it.
struct HNSWGraph {
    struct Parameters: Sendable, Equatable {
        /// Links per node above level 0 (2M at level 0).
        var m = 16
        var efConstruction = 128
        var seed: UInt64 = 0x5EED_C11F

        init(m: Int = 16, efConstruction: Int = 128, seed: UInt64 = 0x5EED_C11F) {
            self.m = m
            self.efConstruction = efConstruction
            self.seed = seed
        }
    }

    let parameters: Parameters
    var m: Int { parameters.m }
    var m0: Int { 2 * parameters.m }
    var levelOfSlot: [Int8] = []     // (slots): -1 = not in the graph
    private(set) var links0: [Int32] = []         // (slots, m0): level-0 neighbours, first count0[s] valid
    var count0: [UInt8] = []         // (slots)
    var upper: [Int32: [[Int32]]] = [:]   // slot → its neighbours at levels 1...level
    var entry: Int32 = -1
    var topLevel = -1
    var nodeCount = 0
    private var random: SplitMix64
    let visited = VisitedPool()

    init(parameters: Parameters) {
        precondition(parameters.m >= 2 && 2 * parameters.m <= 255, "HNSWGraph: M = \(parameters.m) must be in 2...127")
        self.parameters = parameters
        random = SplitMix64(seed: parameters.seed)
    }

    func contains(_ slot: Int32) -> Bool {
        Int(slot) < levelOfSlot.count && levelOfSlot[Int(slot)] >= 0
    }

    /// Bytes held by the links (what the graph adds to the vectors).
    var bytes: Int {
        links0.count * 4 + count0.count + levelOfSlot.count
            + upper.values.reduce(0) { $0 + 24 + $1.reduce(0) { $0 + 32 + $1.count * 4 } }
    }

    // MARK: - Levels

    /// floor(−ln(u) · mL), mL = 1 / ln M, u uniform in (0, 1].
    mutating func randomLevel() -> Int {
        min(Int(-log(random.unitInterval()) / log(Double(m))), 16)
    }

    private mutating func ensureSlots(_ slots: Int) {
        guard levelOfSlot.count < slots else { return }
        let extra = slots - levelOfSlot.count
        levelOfSlot.append(contentsOf: repeatElement(-1, count: extra))
        count0.append(contentsOf: repeatElement(0, count: extra))
        links0.append(contentsOf: repeatElement(-1, count: extra * m0))
    }

    // MARK: - Neighbours

    func neighbours(of slot: Int32, level: Int) -> [Int32] {
        if level == 0 {
            let start = Int(slot) * m0
            return Array(links0[start ..< start + Int(count0[Int(slot)])])
        }
        return upper[slot]?[level - 1] ?? []
    }

    mutating func setNeighbours(of slot: Int32, level: Int, _ list: [Int32]) {
        if level == 0 {
            precondition(list.count <= m0)
            let start = Int(slot) * m0
            for (i, n) in list.enumerated() { links0[start + i] = n }
            count0[Int(slot)] = UInt8(list.count)
        } else {
            upper[slot]![level - 1] = list
        }
    }

    /// Algorithm 4 without extension or kept pruned links: walk `candidates` best first and keep
    /// one when it is closer to the base than to every one kept so far.
    func selectNeighbours(_ candidates: [ScoredSlot], limit: Int, scorer: RowScorer) -> [ScoredSlot] {
        let sorted = candidates.sorted { $0.score > $1.score }
        guard sorted.count > limit else { return sorted }
        var kept: [ScoredSlot] = []
        kept.reserveCapacity(limit)
        for candidate in sorted {
            if kept.count >= limit { break }
            var diverse = true
            for other in kept where scorer.score(candidate.slot, other.slot) > candidate.score {
                diverse = false
                break
            }
            if diverse { kept.append(candidate) }
        }
        return kept
    }

    // MARK: - Search

    /// Greedy walk at `level` from `start` to the best-scoring node reachable (beam width 1).
    private func greedy(_ query: UnsafePointer<Float>, from start: ScoredSlot, level: Int, scorer: RowScorer) -> ScoredSlot {
        var best = start
        var moved = true
        while moved {
            moved = false
            for n in neighbours(of: best.slot, level: level) {
                let score = scorer.score(n, query)
                if score > best.score {
                    best = ScoredSlot(score: score, slot: n)
                    moved = true
                }
            }
        }
        return best
    }

    /// Algorithm 2: beam search of width `ef` at `level` from `entries`. Returns up to `ef` eligible
    /// nodes (any order); ineligible ones are expanded but not returned.
    func searchLayer(_ query: UnsafePointer<Float>, entries: [ScoredSlot], ef: Int, level: Int,
                     scorer: RowScorer, visited: VisitedList, eligible: (Int32) -> Bool) -> [ScoredSlot] {
        var candidates = SlotHeap(bestOnTop: true, capacity: ef * 4)
        var results = SlotHeap(bestOnTop: false, capacity: ef + 1)
        for e in entries where !visited.visit(e.slot) {
            candidates.push(e)
            if eligible(e.slot) {
                results.push(e)
                if results.count > ef { results.pop() }
            }
        }
        var floor = results.count >= ef ? results.top!.score : -Float.infinity
        func expand(_ list: UnsafeBufferPointer<Int32>) {
            for n in list { scorer.prefetch(n) }
            for n in list where !visited.visit(n) {
                let score = scorer.score(n, query)
                guard score > floor else { continue }
                candidates.push(ScoredSlot(score: score, slot: n))
                if eligible(n) {
                    results.push(ScoredSlot(score: score, slot: n))
                    if results.count > ef { results.pop() }
                    if results.count >= ef { floor = results.top!.score }
                }
            }
        }
        links0.withUnsafeBufferPointer { links0 in
            count0.withUnsafeBufferPointer { count0 in
                while let current = candidates.pop() {
                    if current.score < floor { break }
                    if level == 0 {
                        let start = Int(current.slot) * m0
                        expand(UnsafeBufferPointer(rebasing: links0[start ..< start + Int(count0[Int(current.slot)])]))
                    } else {
                        (upper[current.slot]?[level - 1] ?? []).withUnsafeBufferPointer { expand($0) }
                    }
                }
            }
        }
        return results.items
    }

    /// The approximate top-`ef` eligible nodes for `query` (unit, dim), any order.
    func search(_ query: UnsafePointer<Float>, ef: Int, slots: Int, scorer: RowScorer, eligible: (Int32) -> Bool) -> [ScoredSlot] {
        guard entry >= 0 else { return [] }
        var point = ScoredSlot(score: scorer.score(entry, query), slot: entry)
        if topLevel > 0 {
            for level in stride(from: topLevel, through: 1, by: -1) {
                point = greedy(query, from: point, level: level, scorer: scorer)
            }
        }
        return visited.withList(slots: slots) { list in
            searchLayer(query, entries: [point], ef: ef, level: 0, scorer: scorer, visited: list, eligible: eligible)
        }
    }

    // MARK: - Insert

    /// Links `slot`, whose vector is `vector` (dim) and whose int8 row is in the scorer, into the
    /// graph. `live` says which slots may become neighbours.
    mutating func insert(_ slot: Int32, vector: UnsafePointer<Float>, slots: Int, scorer: RowScorer, live: (Int32) -> Bool) {
        let level = randomLevel()
        let found = candidates(for: slot, vector: vector, level: level, slots: slots, scorer: scorer, live: live)
        link(slot, level: level, found: found, slots: slots, scorer: scorer, live: live)
    }

    /// The search half of an insert, which only reads the graph (so several run at once): greedy
    /// descent from the entry point to `level`, then at each level from min(level, top) down to 0
    /// the best `efConstruction` live nodes. found[l] for l in 0...level (empty above the top).
    func candidates(for slot: Int32, vector: UnsafePointer<Float>, level: Int, slots: Int, scorer: RowScorer,
                    live: (Int32) -> Bool) -> [[ScoredSlot]] {
        var found = Array(repeating: [ScoredSlot](), count: level + 1)
        guard entry >= 0 else { return found }
        var point = ScoredSlot(score: scorer.score(entry, vector), slot: entry)
        if topLevel > level {
            for l in stride(from: topLevel, to: level, by: -1) {
                point = greedy(vector, from: point, level: l, scorer: scorer)
            }
        }
        var entries = [point]
        for l in stride(from: min(level, topLevel), through: 0, by: -1) {
            found[l] = visited.withList(slots: slots) { list in
                searchLayer(vector, entries: entries, ef: parameters.efConstruction, level: l,
                            scorer: scorer, visited: list, eligible: { $0 != slot && live($0) })
            }
            if !found[l].isEmpty { entries = found[l] }
        }
        return found
    }

    /// The linking half: `slot` at `level` takes M links per level chosen by the heuristic among
    /// `found` (from `candidates`), and each neighbour links back, re-running the heuristic when it
    /// is over its maximum (2M at level 0, M above).
    mutating func link(_ slot: Int32, level: Int, found: [[ScoredSlot]], slots: Int, scorer: RowScorer, live: (Int32) -> Bool) {
        precondition(!contains(slot), "HNSWGraph: slot \(slot) is already linked")
        ensureSlots(slots)
        levelOfSlot[Int(slot)] = Int8(level)
        count0[Int(slot)] = 0
        if level > 0 { upper[slot] = Array(repeating: [], count: level) }
        nodeCount += 1
        guard entry >= 0 else {
            entry = slot
            topLevel = level
            return
        }
        for l in stride(from: level, through: 0, by: -1) where !found[l].isEmpty {
            let chosen = selectNeighbours(found[l], limit: m, scorer: scorer)
            setNeighbours(of: slot, level: l, chosen.map(\.slot))
            let limit = l == 0 ? m0 : m
            for neighbour in chosen {
                var list = neighbours(of: neighbour.slot, level: l)
                if list.count < limit {
                    list.append(slot)
                    setNeighbours(of: neighbour.slot, level: l, list)
                } else {
                    // Over its maximum: tombstones go first, then the heuristic picks among the rest.
                    var candidates = list.filter(live).map { ScoredSlot(score: scorer.score(neighbour.slot, $0), slot: $0) }
                    candidates.append(ScoredSlot(score: neighbour.score, slot: slot))
                    setNeighbours(of: neighbour.slot, level: l, selectNeighbours(candidates, limit: limit, scorer: scorer).map(\.slot))
                }
            }
        }
        if level > topLevel {
            entry = slot
            topLevel = level
        }
    }

    // MARK: - Serialization

    /// Parameters, entry, levels, level-0 links, then the upper levels' lists.
    func serialize(into writer: inout ByteWriter) {
        writer.write(UInt32(parameters.m))
        writer.write(UInt32(parameters.efConstruction))
        writer.write(parameters.seed)
        writer.write(random.state)
        writer.write(Int64(entry))
        writer.write(Int64(topLevel))
        writer.write(UInt64(nodeCount))
        writer.write(UInt64(levelOfSlot.count))
        writer.write(array: levelOfSlot)
        writer.write(array: count0)
        writer.write(array: links0)
        writer.write(UInt64(upper.count))
        for (slot, levels) in upper.sorted(by: { $0.key < $1.key }) {
            writer.write(slot)
            writer.write(UInt32(levels.count))
            for list in levels {
                writer.write(UInt32(list.count))
                writer.write(array: list)
            }
        }
    }

    init(reading reader: inout ByteReader, slots: Int) throws(SearchIndexError) {
        let m = Int(try reader.read(UInt32.self))
        let efConstruction = Int(try reader.read(UInt32.self))
        guard (2...127).contains(m), efConstruction > 0 else { throw .corruptData("graph: M = \(m), efConstruction = \(efConstruction)") }
        parameters = Parameters(m: m, efConstruction: efConstruction, seed: try reader.read(UInt64.self))
        random = SplitMix64(seed: try reader.read(UInt64.self))
        entry = Int32(clamping: try reader.read(Int64.self))
        topLevel = Int(clamping: try reader.read(Int64.self))
        nodeCount = try reader.readCount(limit: slots)
        let count = try reader.readCount(limit: slots)
        levelOfSlot = try reader.read(array: Int8.self, count: count)
        count0 = try reader.read(array: UInt8.self, count: count)
        links0 = try reader.read(array: Int32.self, count: count * 2 * m)
        let upperCount = try reader.readCount(limit: count)
        for _ in 0..<upperCount {
            let slot = try reader.read(Int32.self)
            guard (0..<count).contains(Int(slot)), Int(levelOfSlot[Int(slot)]) >= 1 else { throw .corruptData("graph: upper levels for slot \(slot)") }
            let levels = Int(try reader.read(UInt32.self))
            guard levels == Int(levelOfSlot[Int(slot)]) else { throw .corruptData("graph: slot \(slot) has \(levels) upper levels, level \(levelOfSlot[Int(slot)])") }
            var lists: [[Int32]] = []
            for _ in 0..<levels {
                let n = Int(try reader.read(UInt32.self))
                guard n <= m else { throw .corruptData("graph: \(n) links above level 0 (M = \(m))") }
                lists.append(try reader.read(array: Int32.self, count: n))
            }
            upper[slot] = lists
        }
        // Every link must name a slot in the graph.
        let levels = levelOfSlot
        func inGraph(_ s: Int32) -> Bool { (0..<count).contains(Int(s)) && levels[Int(s)] >= 0 }
        for s in 0..<count where levelOfSlot[s] >= 0 {
            guard Int(count0[s]) <= 2 * m else { throw .corruptData("graph: slot \(s) has \(count0[s]) level-0 links") }
            for i in 0..<Int(count0[s]) where !inGraph(links0[s * 2 * m + i]) {
                throw .corruptData("graph: slot \(s) links to \(links0[s * 2 * m + i]), not a node")
            }
        }
        for lists in upper.values { for list in lists { for n in list where !inGraph(n) { throw .corruptData("graph: a link to \(n), not a node") } } }
        guard nodeCount == levelOfSlot.lazy.filter({ $0 >= 0 }).count else { throw .corruptData("graph: node count \(nodeCount) disagrees with the levels") }
        guard nodeCount == 0 ? entry == -1 : inGraph(entry) && Int(levelOfSlot[Int(entry)]) == topLevel else {
            throw .corruptData("graph: entry point \(entry) at level \(topLevel) is not a top-level node")
        }
    }
}
