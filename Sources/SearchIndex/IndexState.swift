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

    /// Links pending slots (oldest first) until none are left or `budget` runs out; true when some remain.
    mutating func linkPending(budget: Duration) -> Bool {
        guard graph != nil else {
            pending.removeAll()
            return false
        }
        let clock = ContinuousClock()
        let start = clock.now
        let slots = rows.slotCount
        var dead: [Int32] = []
        rows.withScorer { scorer in
            rows.live.withUnsafeBufferPointer { live in
                while let slot = pending.popLast() {
                    if !live[Int(slot)] {
                        dead.append(slot)
                        continue
                    }
                    _ = matrix.withRow(of: rows.ids[Int(slot)]) { vector in
                        graph!.insert(slot, vector: vector, slots: slots, scorer: scorer, live: { live[Int($0)] })
                    }
                    if clock.now - start >= budget { break }
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
