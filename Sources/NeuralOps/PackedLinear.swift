import CNeuralKernels
import Dispatch

/// A Linear layer's weight, prepared once at load for `linear`. On CPUs with AVX2+FMA it is packed
/// into the column panels of the C micro-kernel (`nk_packed_linear_avx2`, 6x16 output tiles) and the
/// (out, in) original is dropped (no extra memory): weights are constant, so the packing sgemm would
/// redo on every call is done here once. Elsewhere it keeps the (out, in) tensor for sgemm.
///
/// Measured one thread here (bench/gemm, GFLOP/s of thread CPU time, packed vs OpenBLAS 0.3.21's Zen
/// sgemm on this AVX2 EPYC): 7 rows 57-59 vs 21-22 (the old small-rows kernel: 51-60), 50 rows 73-82
/// vs 61-68, 77 rows 77-84 vs 63-71, 200-1600 rows level (80-85 vs 76-83); so it runs at every
/// row count.
public struct LinearWeight: Sendable {
    public let outFeatures: Int
    public let inFeatures: Int
    /// (out, in) as PyTorch stores it; nil when packed.
    let tensor: Tensor?
    /// `nk_pack_weight`'s panels, or nil without AVX2+FMA.
    let packed: FloatStorage?

    /// - weight: (out, in)
    public init(_ weight: Tensor, pack: Bool = packedLinearAvailable) {
        precondition(weight.shape.count == 2, "LinearWeight: weight shape \(weight.shape) is not 2-D")
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
        guard pack else {
            tensor = weight
            packed = nil
            return
        }
        let storage = FloatStorage(count: nk_packed_weight_count(outFeatures, inFeatures))
        nk_pack_weight(weight.pointer, outFeatures, inFeatures, storage.base)
        tensor = nil
        packed = storage
    }
}

/// Whether this CPU runs the packed micro-kernel (AVX2+FMA; the Swift code is baseline x86-64).
public let packedLinearAvailable = nk_has_avx2_fma()

/// `out = x · Wᵀ + b` (or `+=` with `accumulate`), then `activation` as it is stored, with the packed
/// kernel, output panels split over one worker per core when the layer is big enough (at least 2M
/// multiply-adds per worker).
///
/// - x: (rows, in) with row stride `xStride`; bias: (out) or nil; out: (rows, out)
func packedLinear(
    _ x: UnsafePointer<Float>, rows: Int, xStride: Int,
    weight: LinearWeight, packed: FloatStorage, bias: Tensor?,
    into out: UnsafeMutablePointer<Float>, accumulate: Bool, activation: nk_activation
) {
    let panels = (weight.outFeatures + Int(NK_PANEL) - 1) / Int(NK_PANEL)
    let workers = max(1, min(computeThreads, panels,
                             rows * weight.outFeatures * weight.inFeatures / (2 << 20)))
    let job = PackedLinearJob(x: x, rows: rows, xStride: xStride, packed: UnsafePointer(packed.base),
                              inFeatures: weight.inFeatures, outFeatures: weight.outFeatures,
                              panels: panels, bias: bias?.pointer, out: out, accumulate: accumulate,
                              activation: activation, workers: workers)
    parallelFor(workers) { job.run(worker: $0) }
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
    let activation: nk_activation
    let workers: Int

    func run(worker: Int) {
        let first = panels * worker / workers, last = panels * (worker + 1) / workers
        guard first < last else { return }
        nk_packed_linear_avx2(x, xStride, 0, rows, packed, inFeatures, outFeatures, first, last,
                              bias, out, outFeatures, accumulate, activation)
    }
}
