import CNeuralKernels
import COpenBLAS
import Dispatch
import Foundation

// MARK: - Threading

/// Worker threads for one GEMM or attention call: one per core.
public let computeThreads = max(1, ProcessInfo.processInfo.activeProcessorCount)

/// OpenBLAS runs single-threaded; NeuralOps splits work across cores itself (`linear` by output
/// columns, attention by heads). OpenBLAS's own pool busy-waits (sched_yield) between calls and hands
/// work to its threads slowly for mid-sized GEMMs (77 rows: more than half the time spent waiting in
/// exec_blas_async on a shared machine), and concurrent callers (several server requests) would
/// oversubscribe it. Set once, before the first sgemm.
private let openBLASSingleThreaded: Void = openblas_set_num_threads(1)

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
    _ = openBLASSingleThreaded
    cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas,
                blasint(m), blasint(n), blasint(k), alpha,
                a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
}

/// A linear layer on `rows` input rows: `out = x · Wᵀ + b`, W in PyTorch's (out, in) layout, used
/// without copying. With `accumulate`, the result is added to what `out` holds (a residual).
/// Up to `smallRowsThreshold` rows it runs `smallRowsLinear`; above that, sgemm on blocks of output
/// columns, one block per worker (a single sgemm when the layer is small).
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
    }
    if rows <= smallRowsThreshold {
        smallRowsLinear(x, rows: rows, xStride: xStride ?? inFeatures, weight: weight, bias: bias,
                        into: out, accumulate: accumulate)
        return
    }
    // Output columns in blocks of 16, one block range per worker; each worker gets at least 2M
    // multiply-adds, so small layers stay on one thread.
    let blocks = (outFeatures + 15) / 16
    let workers = max(1, min(computeThreads, blocks, rows * outFeatures * inFeatures / (2 << 20)))
    let job = LinearJob(x: x, rows: rows, xStride: xStride ?? inFeatures, w: weight.pointer,
                        outFeatures: outFeatures, inFeatures: inFeatures, bias: bias?.pointer,
                        out: out, accumulate: accumulate, blocks: blocks, workers: workers)
    parallelFor(workers) { job.run(worker: $0) }
}

/// `linear` on a prepared weight: the packed AVX2 kernel when the CPU has it, otherwise the `Tensor`
/// path (small-rows kernel or sgemm). With `activation`, `out = activation(x · Wᵀ + b)`: the packed
/// kernel applies QuickGELU as it stores each tile (no separate pass over the MLP's hidden rows).
///
/// - x: (rows, in) with row stride `in` (or `xStride`); bias: (out) or nil; out: (rows, out)
public func linear(
    _ x: UnsafePointer<Float>, rows: Int, xStride: Int? = nil,
    weight: LinearWeight, bias: Tensor?,
    into out: UnsafeMutablePointer<Float>, accumulate: Bool = false, activation: Activation? = nil
) {
    if let bias {
        precondition(bias.count == weight.outFeatures,
                     "linear: bias \(bias.shape) for weight (\(weight.outFeatures), \(weight.inFeatures))")
    }
    precondition(!(accumulate && activation != nil), "linear: an activation on an accumulated output")
    guard rows > 0 else { return }
    var applied = false
    if let tensor = weight.tensor {
        linear(x, rows: rows, xStride: xStride, weight: tensor, bias: bias, into: out, accumulate: accumulate)
    } else {
        let fused = activation == .quickGELU
        packedLinear(x, rows: rows, xStride: xStride ?? weight.inFeatures, weight: weight,
                     bias: bias, into: out, accumulate: accumulate, activation: fused ? NK_QUICK_GELU : NK_NONE)
        applied = fused
    }
    if let activation, !applied {
        activation.apply(out, count: rows * weight.outFeatures)
    }
}

/// One `linear` call's operands. @unchecked Sendable: workers read x and W and write disjoint
/// column ranges of `out`.
private struct LinearJob: @unchecked Sendable {
    let x: UnsafePointer<Float>
    let rows, xStride: Int
    let w: UnsafePointer<Float>
    let outFeatures, inFeatures: Int
    let bias: UnsafePointer<Float>?
    let out: UnsafeMutablePointer<Float>
    let accumulate: Bool
    let blocks, workers: Int

    func run(worker: Int) {
        let first = blocks * worker / workers * 16
        let last = min(outFeatures, blocks * (worker + 1) / workers * 16)
        guard first < last else { return }
        let columns = last - first
        if let bias {
            for r in 0..<rows {
                let row = out + r * outFeatures + first
                if accumulate {
                    add(bias + first, into: row, count: columns)
                } else {
                    row.update(from: bias + first, count: columns)
                }
            }
        }
        // out[:, first..<last] (rows, columns) = x (rows, in) · W[first..<last]ᵀ (in, columns) [+ out]
        gemm(.none, .transposed, m: rows, n: columns, k: inFeatures,
             a: x, lda: xStride,
             b: w + first * inFeatures, ldb: inFeatures,
             beta: (bias != nil || accumulate) ? 1 : 0, c: out + first, ldc: outFeatures)
    }
}
