/// The compact int8 matrix and the graph as bytes, so a store can keep them beside its vectors and
/// open a large library without re-quantizing and re-linking every vector. The f32 vectors are
/// not in the bytes: they are the store's, handed to `load(_:searchState:)`.
///
/// Layout (little-endian): "CSIX", version (UInt32), dim (UInt32), the `QuantizedRows`, a UInt8
/// (1 when a graph follows), the `HNSWGraph`.
extension VectorIndex {
    static let persistenceMagic: UInt32 = 0x5849_5343   // "CSIX"
    static let persistenceVersion: UInt32 = 1

    /// The search structures as they are now (pending vectors are stored unlinked and linked again
    /// after a load).
    public func serializedSearchState() -> [UInt8] {
        state.read { Self.serialize($0) }
    }

    static func serialize(_ state: borrowing IndexState) -> [UInt8] {
        var writer = ByteWriter()
        writer.write(Self.persistenceMagic)
        writer.write(Self.persistenceVersion)
        writer.write(UInt32(state.matrix.dim))
        state.rows.serialize(into: &writer)
        writer.write(UInt8(state.graph == nil ? 0 : 1))
        state.graph?.serialize(into: &writer)
        return writer.bytes
    }

    /// Loads `vectors` (upserts, as `apply` takes them) into an empty index together with the search
    /// structures `serializedSearchState()` wrote for the same vectors. Throws `.corruptData`, and
    /// leaves the index empty, when the bytes are damaged or hold other ids; the caller then uses
    /// `apply(vectors)`, which rebuilds them.
    public func load(_ vectors: [VectorChange], searchState bytes: [UInt8]) throws(SearchIndexError) {
        var matrix = EmbeddingMatrix(dim: dimension)
        for change in vectors {
            guard case .upsert(let id, let vector) = change else { throw .invalidArgument("load takes upserts only") }
            guard vector.count == dimension else { throw .dimensionMismatch(what: "vector of \(id)", expected: dimension, actual: vector.count) }
            matrix.upsert(id: id, vector: vector)
        }
        try install(matrix, searchState: bytes)
    }

    /// Puts `matrix` and the search structures in `bytes` into this empty index, checking they hold
    /// the same ids; then links what was pending when the state was written.
    func install(_ matrix: EmbeddingMatrix, searchState bytes: [UInt8]) throws(SearchIndexError) {
        let dimension = dimension
        try state.write { (state: inout IndexState) throws(SearchIndexError) in
            guard state.matrix.count == 0 else { throw .invalidArgument("load into an index that already holds \(state.matrix.count) vectors") }
            var reader = ByteReader(bytes)
            guard try reader.read(UInt32.self) == Self.persistenceMagic else { throw .corruptData("not a search state (magic)") }
            let version = try reader.read(UInt32.self)
            guard version == Self.persistenceVersion else { throw .corruptData("search state version \(version), this build reads \(Self.persistenceVersion)") }
            let dim = Int(try reader.read(UInt32.self))
            guard dim == dimension else { throw .dimensionMismatch(what: "stored search state", expected: dimension, actual: dim) }
            let rows = try QuantizedRows(reading: &reader)
            guard rows.dim == dimension else { throw .corruptData("compact matrix of dimension \(rows.dim)") }
            let graph = try reader.read(UInt8.self) == 1 ? try HNSWGraph(reading: &reader, slots: rows.slotCount) : nil
            try reader.expectEnd("search state")
            for id in matrix.ids where rows.slot(of: id) == nil {
                throw .corruptData("vector \(id) has no row in the stored search state")
            }
            guard matrix.count == rows.liveCount else {
                throw .corruptData("the stored search state holds \(rows.liveCount) vectors, the store \(matrix.count)")
            }
            state.matrix = matrix
            state.rows = rows
            state.graph = graph
            state.pending = graph == nil ? [] : (0..<Int32(rows.slotCount)).filter { rows.live[Int($0)] && !graph!.contains($0) }
        }
        scheduleBuild()   // links what was pending when the state was written
    }
}
