import NeuralOps

/// Every embedding of one model in one contiguous row-major matrix (rows = images, `dim` columns,
/// unit-length rows) plus the image id of each row. Deletion swaps the last row into the hole, so
/// the matrix stays dense and one matrix-vector product scores everything.
struct EmbeddingMatrix {
    let dim: Int
    private(set) var values: [Float] = []      // (rows, dim)
    private(set) var ids: [Int64] = []         // (rows)
    private var rowOfId: [Int64: Int] = [:]

    init(dim: Int) {
        self.dim = dim
    }

    var count: Int { ids.count }

    func contains(_ id: Int64) -> Bool { rowOfId[id] != nil }

    func vector(of id: Int64) -> [Float]? {
        guard let row = rowOfId[id] else { return nil }
        return Array(values[row * dim ..< (row + 1) * dim])
    }

    /// Adds or replaces the row of `id`. `vector` must be `dim` long and unit length.
    mutating func upsert(id: Int64, vector: [Float]) {
        precondition(vector.count == dim, "EmbeddingMatrix: \(vector.count) values for dim \(dim)")
        if let row = rowOfId[id] {
            values.replaceSubrange(row * dim ..< (row + 1) * dim, with: vector)
            return
        }
        rowOfId[id] = ids.count
        ids.append(id)
        values.append(contentsOf: vector)
    }

    /// Swap-remove: the last row moves into the removed row's place.
    @discardableResult
    mutating func remove(id: Int64) -> Bool {
        guard let row = rowOfId.removeValue(forKey: id) else { return false }
        let last = ids.count - 1
        if row != last {
            let movedId = ids[last]
            ids[row] = movedId
            rowOfId[movedId] = row
            values.withUnsafeMutableBufferPointer { buffer in
                let base = buffer.baseAddress!
                (base + row * dim).update(from: base + last * dim, count: dim)
            }
        }
        ids.removeLast()
        values.removeLast(dim)
        return true
    }

    /// Exact top-k by cosine: `query` (dim, unit length) against every row with one gemv, then a
    /// size-(offset + k) heap. Returns the hits after `offset`, best first, and how many rows score
    /// ≥ `minScore` (all rows when nil) among those `filter` allows.
    func search(_ query: [Float], k: Int, offset: Int, minScore: Float?, filter: IDFilter?) -> (hits: [ScoredID], total: Int) {
        let rows = ids.count
        guard rows > 0 else { return ([], 0) }
        var scores = [Float](repeating: 0, count: rows)   // (rows)
        values.withUnsafeBufferPointer { matrix in
            query.withUnsafeBufferPointer { q in
                scores.withUnsafeMutableBufferPointer { out in
                    gemv(rows: rows, cols: dim, a: matrix.baseAddress!, lda: dim,
                         x: q.baseAddress!, y: out.baseAddress!)
                }
            }
        }
        let (wanted, overflow) = offset.addingReportingOverflow(k)
        var selector = TopKSelector(capacity: overflow ? rows : min(wanted, rows))
        var total = 0
        for row in 0..<rows {
            let score = scores[row]
            if let minScore, !(score >= minScore) { continue }
            if let filter, !filter.allows(ids[row]) { continue }
            total += 1
            selector.offer(id: ids[row], score: score)
        }
        let ranked = selector.sorted()
        return (offset < ranked.count ? ranked[offset...].map { ScoredID(id: $0.id, score: $0.score) } : [], total)
    }
}
