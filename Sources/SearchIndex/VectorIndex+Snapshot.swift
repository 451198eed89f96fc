import CSearchKernels

/// Everything a `VectorIndex` holds, as flat arrays a store can write to one file and load back
/// without re-reading rows, re-quantizing or re-linking: the f32 rows in matrix order and the
/// search structures (`serializedSearchState()`).
public struct VectorSnapshot: Sendable, Equatable {
    public let dimension: Int
    public let ids: [Int64]          // (rows)
    public let values: [Float]       // (rows, dimension), unit rows in the order of `ids`
    public let searchState: [UInt8]

    public init(dimension: Int, ids: [Int64], values: [Float], searchState: [UInt8]) {
        self.dimension = dimension
        self.ids = ids
        self.values = values
        self.searchState = searchState
    }
}

/// A 64-bit checksum of `bytes` (XXH64), chained through `seed`: one section's result
/// seeds the next, so a file's sections check as one.
public func checksum64(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
    sk_checksum64(bytes.baseAddress, bytes.count, seed)
}

extension VectorIndex {
    /// The index as it is now, under one read lock (the arrays are shared copy-on-write, so this
    /// costs the search state's serialization, not a copy of the rows).
    public func snapshot() -> VectorSnapshot {
        state.read { state in
            VectorSnapshot(dimension: dimension, ids: state.matrix.ids, values: state.matrix.values,
                           searchState: Self.serialize(state))
        }
    }

    /// Loads `snapshot` into an empty index. Throws `.corruptData` (the index stays empty) when its
    /// parts disagree: another dimension, a row count that does not fit, an id twice, ids the search
    /// state does not hold.
    public func load(_ snapshot: VectorSnapshot) throws(SearchIndexError) {
        guard snapshot.dimension == dimension else {
            throw .dimensionMismatch(what: "vector snapshot", expected: dimension, actual: snapshot.dimension)
        }
        guard snapshot.values.count == snapshot.ids.count * dimension else {
            throw .corruptData("snapshot: \(snapshot.values.count) values for \(snapshot.ids.count) rows of \(dimension)")
        }
        guard let matrix = EmbeddingMatrix(dim: dimension, ids: snapshot.ids, values: snapshot.values) else {
            throw .corruptData("snapshot: an id appears twice")
        }
        try install(matrix, searchState: snapshot.searchState)
    }
}

extension VectorIndex {
    /// Loads `values` (ids.count, dimension; unit rows) of `ids` into an empty index and builds the
    /// search structures from them (the compact rows now, the graph in the background): `apply`
    /// for a store's first read, without an array per vector. The arrays are kept, not copied.
    public func load(ids: [Int64], values: [Float]) throws(SearchIndexError) {
        guard values.count == ids.count * dimension else {
            throw .invalidArgument("\(values.count) values for \(ids.count) rows of \(dimension)")
        }
        guard let matrix = EmbeddingMatrix(dim: dimension, ids: ids, values: values) else {
            throw .invalidArgument("an id appears twice")
        }
        let threshold = options.approximateThreshold
        let parameters = graphParameters
        let dimension = dimension
        try state.write { (state: inout IndexState) throws(SearchIndexError) in
            guard state.matrix.count == 0 else { throw .invalidArgument("load into an index that already holds \(state.matrix.count) vectors") }
            state.matrix = matrix
            values.withUnsafeBufferPointer { rows in
                for (row, id) in ids.enumerated() { _ = state.rows.add(id: id, vector: rows.baseAddress! + row * dimension) }
            }
            state.startGraphIfLarge(threshold: threshold, parameters: parameters)
        }
        scheduleBuild()
    }
}
