import CNeuralKernels
import Dispatch

/// A Linear layer's weight, prepared once at load for `linear`: the (out, in) tensor as PyTorch
/// stores it, and on CPUs with AVX2+FMA also its column panels packed for the C micro-kernel
/// (`nk_packed_linear_avx2`, 6x16 output tiles). Weights are constant, so the packing sgemm would
/// redo on every call is done here once.
public struct LinearWeight: Sendable {
    /// (out, in), used by sgemm for many rows and on CPUs without AVX2+FMA.
    public let tensor: Tensor
    /// `nk_pack_weight`'s panels of `tensor`, or nil without AVX2+FMA.
    let packed: FloatStorage?

    public var outFeatures: Int { tensor.shape[0] }
    public var inFeatures: Int { tensor.shape[1] }

    /// - weight: (out, in)
    public init(_ weight: Tensor, pack: Bool = packedLinearAvailable) {
        precondition(weight.shape.count == 2, "LinearWeight: weight shape \(weight.shape) is not 2-D")
        tensor = weight
        guard pack else {
            packed = nil
            return
        }
        let out = weight.shape[0], inFeatures = weight.shape[1]
        let storage = FloatStorage(count: nk_packed_weight_count(out, inFeatures))
        nk_pack_weight(weight.pointer, out, inFeatures, storage.base)
        packed = storage
    }
}

/// Whether this CPU runs the packed micro-kernel (AVX2+FMA; the Swift code is baseline x86-64).
public let packedLinearAvailable = nk_has_avx2_fma()

/// Up to this many rows `linear` runs the packed kernel; above it, sgemm. Measured one thread here
/// (bench/gemm, GFLOP/s, packed vs OpenBLAS 0.3.21): 7 rows 50 vs 20, 50 rows 65 vs 58, 77 rows 72
/// vs 66, 200 rows 69 vs 70, 400+ rows 66-68 vs 77-80 (OpenBLAS's kernel wins on long runs).
public let packedRowsThreshold = 192

/// `out = x · Wᵀ + b` (or `+=` with `accumulate`) with the packed kernel, output panels split over
/// one worker per core when the layer is big enough (at least 2M multiply-adds per worker).
///
/// - x: (rows, in) with row stride `xStride`; bias: (out) or nil; out: (rows, out)
func packedLinear(
    _ x: UnsafePointer<Float>, rows: Int, xStride: Int,
    weight: LinearWeight, packed: FloatStorage, bias: Tensor?,
    into out: UnsafeMutablePointer<Float>, accumulate: Bool
) {
    let panels = (weight.outFeatures + Int(NK_PANEL) - 1) / Int(NK_PANEL)
    let workers = max(1, min(computeThreads, panels,
                             rows * weight.outFeatures * weight.inFeatures / (2 << 20)))
    let job = PackedLinearJob(x: x, rows: rows, xStride: xStride, packed: UnsafePointer(packed.base),
                              inFeatures: weight.inFeatures, outFeatures: weight.outFeatures,
                              panels: panels, bias: bias?.pointer, out: out, accumulate: accumulate,
                              workers: workers)
    if workers == 1 {
        job.run(worker: 0)
    } else {
        DispatchQueue.concurrentPerform(iterations: workers) { job.run(worker: $0) }
    }
}

/// @unchecked Sendable: workers read x and the panels and write disjoint output columns.
private struct PackedLinearJob: @unchecked Sendable {
    let x: UnsafePointer<Float>
    let rows, xStride: Int
    let packed: UnsafePointer<Float>
    let inFeatures, outFeatures, panels: Int
    let bias: UnsafePointer<Float>?
    let out: UnsafeMutablePointer<Float>
    let accumulate: Bool
    let workers: Int

    func run(worker: Int) {
        let first = panels * worker / workers, last = panels * (worker + 1) / workers
        guard first < last else { return }
        nk_packed_linear_avx2(x, xStride, 0, rows, packed, inFeatures, outFeatures, first, last,
                              bias, out, outFeatures, accumulate)
    }
}
