import CSearchKernels

/// Scores against the int8 rows of a `QuantizedRows`, for the graph: a float query against a slot,
/// or two slots. The pointers live only inside `QuantizedRows.withScorer`.
struct RowScorer {
    let codes: UnsafePointer<Int8>     // (slots, dim)
    let scales: UnsafePointer<Float>   // (slots)
    let dim: Int

    @inline(__always)
    func score(_ slot: Int32, _ query: UnsafePointer<Float>) -> Float {
        scales[Int(slot)] * sk_dot_i8_f32(codes + Int(slot) * dim, query, dim)
    }

    @inline(__always)
    func score(_ a: Int32, _ b: Int32) -> Float {
        scales[Int(a)] * scales[Int(b)] * Float(sk_dot_i8_i8(codes + Int(a) * dim, codes + Int(b) * dim, dim))
    }

    @inline(__always)
    func prefetch(_ slot: Int32) {
        sk_prefetch(codes + Int(slot) * dim, dim)
    }
}

extension QuantizedRows {
    func withScorer<T>(_ body: (RowScorer) throws -> T) rethrows -> T {
        try codes.withUnsafeBufferPointer { codes in
            try scales.withUnsafeBufferPointer { scales in
                try body(RowScorer(codes: codes.baseAddress ?? UnsafePointer(bitPattern: 1)!,
                                   scales: scales.baseAddress ?? UnsafePointer(bitPattern: 4)!, dim: dim))
            }
        }
    }
}
