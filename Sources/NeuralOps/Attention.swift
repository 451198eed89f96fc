/// Multi-head scaled dot-product attention over row-major activations, per (batch, head):
/// `out_bh = softmax(scale · Q_bh · K_bhᵀ [+ causal mask]) · V_bh`, with `scale = 1/√headDim`.
///
/// Head h of a row is columns `h·headDim ..< (h+1)·headDim`, so each head is a strided view
/// (leading dimension `stride`) and the two products are plain sgemm calls: no head is copied or
/// transposed.
///
/// - q, k, v: (batch·seq, heads·headDim) each with row stride `stride` (e.g. `3·width` when they are
///   the three column blocks of a fused QKV projection)
/// - out: (batch·seq, heads·headDim) contiguous
/// - scores: scratch of at least `seq·seq` floats
public func multiHeadAttention(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, stride: Int,
    batch: Int, seq: Int, heads: Int, headDim: Int, causal: Bool,
    scores: UnsafeMutablePointer<Float>,
    into out: UnsafeMutablePointer<Float>
) {
    let width = heads * headDim
    let scale = 1 / Float(headDim).squareRoot()
    for b in 0..<batch {
        for h in 0..<heads {
            let rowOffset = b * seq * stride + h * headDim
            // (seq, seq) = scale · Q_bh (seq, headDim) · K_bhᵀ (headDim, seq)
            gemm(.none, .transposed, m: seq, n: seq, k: headDim, alpha: scale,
                 a: q + rowOffset, lda: stride,
                 b: k + rowOffset, ldb: stride,
                 beta: 0, c: scores, ldc: seq)
            for i in 0..<seq {
                softmaxRow(scores + i * seq, count: seq, valid: causal ? i + 1 : seq)
            }
            // (seq, headDim) = P (seq, seq) · V_bh (seq, headDim), written into head h's columns
            gemm(.none, .none, m: seq, n: headDim, k: seq,
                 a: scores, lda: seq,
                 b: v + rowOffset, ldb: stride,
                 beta: 0, c: out + b * seq * width + h * headDim, ldc: width)
        }
    }
}
