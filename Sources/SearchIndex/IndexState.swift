/// What a `VectorIndex` holds under its lock: the f32 rows, their compact int8 copy, and the graph
/// once the index is large enough, with the slots added since that the graph has not linked yet.
struct IndexState {
    var matrix: EmbeddingMatrix
    var rows: QuantizedRows
    var graph: HNSWGraph?
    /// Slots added since the graph was made and not linked yet (the builder links them).
    var pending: [Int32] = []
    /// A builder run is queued or running.
    var buildScheduled = false
    /// Tombstones being reclaimed: the nodes before `cursor` are repaired.
    var reclaim: (dead: Set<Int32>, cursor: Int, end: Int)?
    /// Reclaim once tombstones are this fraction of the graph's nodes.
    var reclaimFraction = 0.1
    /// Threads that search for new nodes' neighbours at once (1: one node at a time, as the paper).
    var linkThreads = 1

    init(dim: Int) {
        matrix = EmbeddingMatrix(dim: dim)
        rows = QuantizedRows(dim: dim)
    }

    mutating func upsert(id: Int64, vector: [Float]) {
        matrix.upsert(id: id, vector: vector)
        remove(fromRows: id)
        let slot = vector.withUnsafeBufferPointer { rows.add(id: id, vector: $0.baseAddress!) }
        if graph != nil { pending.append(slot) }
    }

    mutating func remove(id: Int64) {
        matrix.remove(id: id)
        remove(fromRows: id)
    }

    /// A dead slot is reusable at once unless the graph links it (then it stays a tombstone) or the
    /// builder has it queued (the builder releases it when it gets there).
    private mutating func remove(fromRows id: Int64) {
        guard let slot = rows.kill(id: id) else { return }
        // With a graph, a slot it does not link yet is pending: every slot live since the graph
        // was made is linked or queued.
        if graph == nil { rows.release(slot) }
    }

    /// Makes the graph (every live slot pending) once `rows` reach `threshold`.
    mutating func startGraphIfLarge(threshold: Int, parameters: HNSWGraph.Parameters) {
        guard graph == nil, rows.liveCount >= threshold else { return }
        graph = HNSWGraph(parameters: parameters)
        pending = (0..<Int32(rows.slotCount)).filter { rows.live[Int($0)] }.reversed()
    }

    /// Whether the builder has something to do.
    var hasBuildWork: Bool { !pending.isEmpty || reclaim != nil || reclaimDue }

    private var reclaimDue: Bool {
        guard let graph, graph.nodeCount > 0 else { return false }
        return Double(rows.tombstoneCount) >= reclaimFraction * Double(graph.nodeCount) && rows.tombstoneCount >= 16
    }

    /// The builder's turn: links pending slots (oldest first), then reclaims tombstones, until
    /// nothing is left or `budget` runs out; true when work remains.
    mutating func build(budget: Duration) -> Bool {
        let clock = ContinuousClock()
        let start = clock.now
        if linkPending(budget: budget) { return true }
        if reclaim == nil && reclaimDue {
            let dead = Set((0..<Int32(rows.slotCount)).filter { graph!.contains($0) && !rows.live[Int($0)] })
            reclaim = (dead, 0, rows.slotCount)
        }
        guard var job = reclaim else { return false }
        rows.withScorer { scorer in
            rows.live.withUnsafeBufferPointer { live in
                while job.cursor < job.end {
                    let slot = Int32(job.cursor)
                    job.cursor += 1
                    // Every node that stays (tombstones deleted since the snapshot too) drops its links
                    // to the snapshot's tombstones, which are then unlinked and reused.
                    if !job.dead.contains(slot) { graph!.repair(slot, scorer: scorer, live: { live[Int($0)] }) }
                    if job.cursor % 64 == 0 && clock.now - start >= budget { break }
                }
            }
        }
        if job.cursor < job.end {
            reclaim = job
            return true
        }
        rows.live.withUnsafeBufferPointer { live in graph!.unlink(Array(job.dead), live: { live[Int($0)] }) }
        for slot in job.dead { rows.release(slot) }
        reclaim = nil
        return hasBuildWork
    }

    /// Links pending slots (oldest first), `linkBatch` at a time on `linkThreads` threads, until
    /// none are left or `budget` runs out; true when some remain.
    mutating func linkPending(budget: Duration) -> Bool {
        guard graph != nil else {
            pending.removeAll()
            return false
        }
        let clock = ContinuousClock()
        let start = clock.now
        let slots = rows.slotCount
        let threads = linkThreads
        var dead: [Int32] = []
        rows.withScorer { scorer in
            rows.live.withUnsafeBufferPointer { live in
                rows.ids.withUnsafeBufferPointer { ids in
                    matrix.values.withUnsafeBufferPointer { values in
                        while !pending.isEmpty {
                            var batch: [Int32] = []
                            while batch.count < (threads > 1 ? 16 * threads : 1), let slot = pending.popLast() {
                                if live[Int(slot)] { batch.append(slot) } else { dead.append(slot) }
                            }
                            guard !batch.isEmpty else { continue }
                            let vectors = batch.map { values.baseAddress! + matrix.row(of: ids[Int($0)])! * matrix.dim }
                            graph!.insert(batch: batch, vectors: vectors, slots: slots, scorer: scorer, live: live, threads: threads)
                            if clock.now - start >= budget { break }
                        }
                    }
                }
            }
        }
        for slot in dead { rows.release(slot) }
        return !pending.isEmpty
    }

    var footprint: VectorIndex.Footprint {
        VectorIndex.Footprint(vectors: matrix.count, matrixBytes: matrix.bytes, compactBytes: rows.bytes,
                              graphBytes: graph?.bytes ?? 0, graphNodes: graph?.nodeCount ?? 0,
                              tombstones: rows.tombstoneCount, pending: pending.count)
    }
}
