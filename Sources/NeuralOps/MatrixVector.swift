import COpenBLAS

/// Row-major matrix-vector product `y = alpha · A · x + beta · y`, A (rows, cols) with row stride
/// `lda` (≥ cols), x (cols), y (rows). One BLAS call: used by the search to score every stored
/// embedding against a query at once.
public func gemv(
    rows: Int, cols: Int,
    alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int,
    x: UnsafePointer<Float>,
    beta: Float = 0,
    y: UnsafeMutablePointer<Float>
) {
    guard rows > 0, cols > 0 else { return }
    precondition(lda >= cols, "gemv: row stride \(lda) < \(cols) columns")
    cblas_sgemv(CblasRowMajor, CblasNoTrans, blasint(rows), blasint(cols), alpha,
                a, blasint(lda), x, 1, beta, y, 1)
}
