import COpenBLAS

/// Whether a GEMM operand is used as stored or transposed.
public enum Transpose: Sendable {
    case none
    case transposed

    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// Row-major `C = alpha · op(A) · op(B) + beta · C` with `op(A)` (m, k), `op(B)` (k, n), C (m, n).
/// Leading dimensions are row strides, so strided views (one attention head inside a wider matrix)
/// are used in place.
@inlinable
public func gemm(
    _ transA: Transpose, _ transB: Transpose,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int
) {
    guard m > 0, n > 0 else { return }
    cblasGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

@usableFromInline
func cblasGemm(
    _ transA: Transpose, _ transB: Transpose, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
    _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
) {
    cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas,
                blasint(m), blasint(n), blasint(k), alpha,
                a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
}

/// A linear layer on `rows` input rows: `out = x · Wᵀ + b`, W in PyTorch's (out, in) layout, used
/// without copying. With `accumulate`, the result is added to what `out` holds (a residual).
///
/// - x: (rows, in) with row stride `in` (or `xStride`)
/// - weight: (out, in); bias: (out) or nil
/// - out: (rows, out)
public func linear(
    _ x: UnsafePointer<Float>, rows: Int, xStride: Int? = nil,
    weight: Tensor, bias: Tensor?,
    into out: UnsafeMutablePointer<Float>, accumulate: Bool = false
) {
    precondition(weight.shape.count == 2, "linear: weight shape \(weight.shape) is not 2-D")
    let outFeatures = weight.shape[0], inFeatures = weight.shape[1]
    if let bias {
        precondition(bias.count == outFeatures, "linear: bias \(bias.shape) for weight \(weight.shape)")
        for r in 0..<rows {
            let row = out + r * outFeatures
            if accumulate {
                add(bias.pointer, into: row, count: outFeatures)
            } else {
                row.update(from: bias.pointer, count: outFeatures)
            }
        }
    }
    let beta: Float = (bias != nil || accumulate) ? 1 : 0
    gemm(.none, .transposed, m: rows, n: outFeatures, k: inFeatures,
         a: x, lda: xStride ?? inFeatures,
         b: weight.pointer, ldb: inFeatures,
         beta: beta, c: out, ldc: outFeatures)
}
