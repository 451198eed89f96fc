import CNeuralKernels

/// A lookup table of rows (a token embedding): f32 as loaded, or f16 when every value is an exact
/// f16 value (`compacted()`), which halves its memory (ViT-B/32's 49,408 x 512 table: 101 MB → 51 MB)
/// and changes no value read from it.
public struct EmbeddingTable: Sendable {
    public let rows: Int
    public let width: Int
    let storage: Storage

    enum Storage: Sendable {
        case f32(Tensor)
        case f16(ByteStorage)
    }

    /// - table: (rows, width)
    public init(_ table: Tensor) {
        precondition(table.shape.count == 2, "EmbeddingTable: shape \(table.shape) is not 2-D")
        rows = table.shape[0]
        width = table.shape[1]
        storage = .f32(table)
    }

    private init(rows: Int, width: Int, half: ByteStorage) {
        self.rows = rows
        self.width = width
        storage = .f16(half)
    }

    public var precision: WeightPrecision {
        if case .f16 = storage { return .f16 }
        return .f32
    }

    /// The same table in f16 when that is lossless (and the CPU has F16C), otherwise itself.
    public func compacted() -> EmbeddingTable {
        guard halfWeightsAvailable, case .f32(let tensor) = storage,
              nk_is_exact_f16(tensor.pointer, tensor.count) else { return self }
        let half = ByteStorage(byteCount: 2 * tensor.count)
        nk_f32_to_f16(tensor.pointer, tensor.count, half.base.assumingMemoryBound(to: UInt16.self))
        return EmbeddingTable(rows: rows, width: width, half: half)
    }

    /// Writes row `index` (width floats) to `out`.
    public func copyRow(_ index: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(index >= 0 && index < rows, "EmbeddingTable: row \(index) of \(rows)")
        switch storage {
        case .f32(let tensor):
            out.update(from: tensor.pointer + index * width, count: width)
        case .f16(let half):
            nk_f16_to_f32(half.base.assumingMemoryBound(to: UInt16.self) + index * width, width, out)
        }
    }
}
