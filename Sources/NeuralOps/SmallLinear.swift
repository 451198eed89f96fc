import Dispatch
import Foundation

/// Up to this many rows, `linear` uses `smallRowsLinear` instead of sgemm: for a short text (7 rows)
/// the GEMM is memory-bound on the weights, and OpenBLAS packs (copies) the whole weight matrix per
/// call before using it once per row.
public let smallRowsThreshold = 8

/// `out = x · Wᵀ + b` (or `+=` with `accumulate`) for a few rows, streaming each weight row once:
/// dot products of W's rows with up to 4 input rows at a time, outputs split over one worker per core.
/// The model reaches it only on CPUs without AVX2+FMA: elsewhere its weights are `LinearWeight`s
/// packed for the C kernel, which is faster at every row count.
///
/// - x: (rows, in) with row stride `xStride`; weight: (out, in); bias: (out) or nil; out: (rows, out)
public func smallRowsLinear(
    _ x: UnsafePointer<Float>, rows: Int, xStride: Int,
    weight: Tensor, bias: Tensor?,
    into out: UnsafeMutablePointer<Float>, accumulate: Bool
) {
    let job = SmallLinearJob(x: x, rows: rows, xStride: xStride, w: weight.pointer,
                             outFeatures: weight.shape[0], inFeatures: weight.shape[1],
                             bias: bias?.pointer, out: out, accumulate: accumulate,
                             workers: max(1, min(computeThreads, weight.shape[0] / 64)))
    parallelFor(job.workers) { job.run(worker: $0) }
}

/// @unchecked Sendable: workers read x and W and write disjoint output columns.
private struct SmallLinearJob: @unchecked Sendable {
    let x: UnsafePointer<Float>
    let rows, xStride: Int
    let w: UnsafePointer<Float>
    let outFeatures, inFeatures: Int
    let bias: UnsafePointer<Float>?
    let out: UnsafeMutablePointer<Float>
    let accumulate: Bool
    let workers: Int

    typealias V8 = SIMD8<Float>

    func run(worker: Int) {
        let chunk = (outFeatures + workers - 1) / workers
        let first = worker * chunk, last = min(outFeatures, first + chunk)
        guard first < last else { return }
        for o in first..<last {
            let wRow = w + o * inFeatures
            var tile = 0
            while tile < rows {
                // Four rows per pass (missing ones repeat row `tile` and are not stored).
                let r0 = x + tile * xStride
                let r1 = x + min(tile + 1, rows - 1) * xStride
                let r2 = x + min(tile + 2, rows - 1) * xStride
                let r3 = x + min(tile + 3, rows - 1) * xStride
                var a0 = V8.zero, a1 = V8.zero, a2 = V8.zero, a3 = V8.zero
                var i = 0
                while i + 8 <= inFeatures {
                    let wv = UnsafeRawPointer(wRow + i).loadUnaligned(as: V8.self)
                    a0 += wv * UnsafeRawPointer(r0 + i).loadUnaligned(as: V8.self)
                    a1 += wv * UnsafeRawPointer(r1 + i).loadUnaligned(as: V8.self)
                    a2 += wv * UnsafeRawPointer(r2 + i).loadUnaligned(as: V8.self)
                    a3 += wv * UnsafeRawPointer(r3 + i).loadUnaligned(as: V8.self)
                    i += 8
                }
                var sums = (a0.sum(), a1.sum(), a2.sum(), a3.sum())
                while i < inFeatures {
                    sums.0 += wRow[i] * r0[i]
                    sums.1 += wRow[i] * r1[i]
                    sums.2 += wRow[i] * r2[i]
                    sums.3 += wRow[i] * r3[i]
                    i += 1
                }
                let b = bias?[o] ?? 0
                let count = min(4, rows - tile)
                func put(_ j: Int, _ value: Float) {
                    let dst = out + (tile + j) * outFeatures + o
                    dst.pointee = (accumulate ? dst.pointee : 0) + value + b
                }
                put(0, sums.0)
                if count > 1 { put(1, sums.1) }
                if count > 2 { put(2, sums.2) }
                if count > 3 { put(3, sums.3) }
                tile += 4
            }
        }
    }
}
