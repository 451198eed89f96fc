import CSearchKernels

/// Every embedding of one model in one contiguous row-major f32 matrix (rows = images, `dim` columns,
/// unit-length rows) plus the image id of each row. Deletion swaps the last row into the hole, so
/// the matrix stays dense. The searches scan the compact int8 copy (`QuantizedRows`) and come here
/// for the exact scores of their candidates.
struct EmbeddingMatrix {
    let dim: Int
    private(set) var values: [Float] = []      // (rows, dim)
    private(set) var ids: [Int64] = []         // (rows)
    private var rowOfId: [Int64: Int] = [:]

    init(dim: Int) {
        self.dim = dim
    }

    /// The rows `values` (ids.count, dim) of `ids`, kept as given (no copy); nil when an id repeats.
    init?(dim: Int, ids: [Int64], values: [Float]) {
        precondition(values.count == ids.count * dim, "EmbeddingMatrix: \(values.count) values for \(ids.count) rows of \(dim)")
        self.dim = dim
        self.ids = ids
        self.values = values
        rowOfId.reserveCapacity(ids.count)
        for (row, id) in ids.enumerated() where rowOfId.updateValue(row, forKey: id) != nil { return nil }
    }

    var count: Int { ids.count }

    func contains(_ id: Int64) -> Bool { rowOfId[id] != nil }

    func vector(of id: Int64) -> [Float]? {
        guard let row = rowOfId[id] else { return nil }
        return Array(values[row * dim ..< (row + 1) * dim])
    }

    /// `body` on the stored row of `id` (dim floats); nil when there is none.
    func withRow<T>(of id: Int64, _ body: (UnsafePointer<Float>) -> T) -> T? {
        guard let row = rowOfId[id] else { return nil }
        return values.withUnsafeBufferPointer { body($0.baseAddress! + row * dim) }
    }

    /// The row index of `id` in `values`, nil when there is none.
    func row(of id: Int64) -> Int? { rowOfId[id] }

    /// The exact cosine of a unit `query` (dim) and the row of `id`, summed in double.
    func exactScore(of id: Int64, query: UnsafePointer<Float>) -> Double? {
        withRow(of: id) { sk_dot_f32_f64($0, query, dim) }
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

    /// Bytes held (values, ids, the id map at about 17 bytes an entry).
    var bytes: Int { values.count * 4 + ids.count * 8 + rowOfId.count * 17 }
}
