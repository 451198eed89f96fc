import CNeuralKernels
import Dispatch

/// How a Linear layer's weight is stored for the kernels.
public enum WeightPrecision: String, Sendable, CaseIterable {
    /// Floats, as loaded.
    case f32
    /// IEEE half floats, widened (exactly) in the kernel: half the bytes; lossless when every weight
    /// is an f16 value already (`LinearWeight.isExactlyHalf`).
    case f16
    /// 8-bit integers with one scale per output channel; each call quantizes its input rows to 8
    /// bits (one scale per row) and multiplies in integers (`nk_int8_linear_avx2`). Lossy.
    case int8
}

/// A Linear layer's weight, prepared once at load for `linear`. On CPUs with AVX2+FMA it is packed
/// into the column panels of the C micro-kernel (`nk_packed_linear_avx2`, 6x16 output tiles) and the
/// (out, in) original is dropped (no extra memory): weights are constant, so the packing sgemm would
/// redo on every call is done here once. Elsewhere it keeps the (out, in) tensor for sgemm.
/// In `.f16` the panels hold half floats (`nk_packed_linear_f16_avx2`): on weights that are f16
/// values its outputs are bit-identical to f32's, from half the memory and memory traffic.
///
/// Measured one thread here (bench/gemm, GFLOP/s of thread CPU time, packed vs OpenBLAS 0.3.21's Zen
/// sgemm on this AVX2 EPYC): 7 rows 57-59 vs 21-22 (the old small-rows kernel: 51-60), 50 rows 73-82
/// vs 61-68, 77 rows 77-84 vs 63-71, 200-1600 rows level (80-85 vs 76-83); so it runs at every
/// row count.
public struct LinearWeight: Sendable {
    public let outFeatures: Int
    public let inFeatures: Int
    /// What the kernels read: `.f32` also without packing (the tensor path).
    public let precision: WeightPrecision
    let storage: Storage

    enum Storage: Sendable {
        /// (out, in) as PyTorch stores it: CPUs without AVX2+FMA, or not packed yet.
        case tensor(Tensor)
        /// `nk_pack_weight`'s panels.
        case packedF32(FloatStorage)
        /// `nk_pack_weight_f16`'s panels (f16 bits).
        case packedF16(ByteStorage)
        /// `nk_pack_weight_int8`'s panels and per-output-channel scales.
        case packedInt8(ByteStorage, scales: FloatStorage)
    }

    /// (out, in) as PyTorch stores it; nil when packed.
    var tensor: Tensor? {
        if case .tensor(let t) = storage { return t }
        return nil
    }

    /// `nk_pack_weight`'s f32 panels, or nil.
    var packed: FloatStorage? {
        if case .packedF32(let p) = storage { return p }
        return nil
    }

    /// - weight: (out, in)
    /// - precision: `.f16` rounds each weight to the nearest f16 (lossless when `isExactlyHalf`);
    ///   it needs F16C (`halfWeightsAvailable`) and packing, and stays `.f32` without them. `.int8`
    ///   quantizes per output channel; it needs packing (AVX2), and stays `.f32` without it.
    public init(_ weight: Tensor, precision: WeightPrecision = .f32, pack: Bool = packedLinearAvailable) {
        precondition(weight.shape.count == 2, "LinearWeight: weight shape \(weight.shape) is not 2-D")
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
        let count = nk_packed_weight_count(outFeatures, inFeatures)
        switch (pack, precision) {
        case (false, _):
            self.precision = .f32
            storage = .tensor(weight)
        case (true, .f16) where halfWeightsAvailable:
            let bytes = ByteStorage(byteCount: 2 * count)
            guard nk_pack_weight_f16(weight.pointer, outFeatures, inFeatures,
                                     bytes.base.assumingMemoryBound(to: UInt16.self)) else {
                fatalError("LinearWeight: out of memory packing (\(outFeatures), \(inFeatures))")
            }
            self.precision = .f16
            storage = .packedF16(bytes)
        case (true, .int8):
            let bytes = ByteStorage(byteCount: nk_int8_weight_bytes(outFeatures, inFeatures))
            let scales = FloatStorage(count: nk_int8_scale_count(outFeatures))
            nk_pack_weight_int8(weight.pointer, outFeatures, inFeatures,
                                bytes.base.assumingMemoryBound(to: Int8.self), scales.base)
            self.precision = .int8
            storage = .packedInt8(bytes, scales: scales)
        case (true, _):
            let floats = FloatStorage(count: count)
            nk_pack_weight(weight.pointer, outFeatures, inFeatures, floats.base)
            self.precision = .f32
            storage = .packedF32(floats)
        }
    }

    /// This weight packed in `precision`, when it is still the unpacked tensor (otherwise itself):
    /// a loader keeps tensors until it has chosen each tower's precision.
    public func prepared(_ precision: WeightPrecision, pack: Bool = packedLinearAvailable) -> LinearWeight {
        guard let tensor, pack else { return self }
        return LinearWeight(tensor, precision: precision, pack: true)
    }

    /// Whether every weight is exactly an f16 value (f32 → f16 → f32 gives the same bits), so `.f16`
    /// loses nothing. False on CPUs without F16C (f16 is not used there) and once packed.
    public var isExactlyHalf: Bool {
        guard halfWeightsAvailable, let tensor else { return false }
        return nk_is_exact_f16(tensor.pointer, tensor.count)
    }

    /// Bytes the kernels read per call (the packed panels, or the tensor).
    public var byteCount: Int {
        switch storage {
        case .tensor(let t): 4 * t.count
        case .packedF32(let p): 4 * p.count
        case .packedF16(let b): b.byteCount
        case .packedInt8(let b, let scales): b.byteCount + 4 * scales.count
        }
    }
}

/// Whether this CPU runs the packed micro-kernel (AVX2+FMA; the Swift code is baseline x86-64).
public let packedLinearAvailable = nk_has_avx2_fma()

/// Whether this CPU runs the f16-weight kernel (AVX2+FMA+F16C).
public let halfWeightsAvailable = nk_has_f16c()

/// Hands the heap's free pages back to the system: call after loading, when the weights' temporary
/// copies are gone (glibc keeps freed blocks resident otherwise).
public func releaseFreeMemory() { nk_release_free_memory() }

/// `out = x · Wᵀ + b` (or `+=` with `accumulate`), then `activation` as it is stored, with the packed
/// kernel, output panels split over one worker per core when the layer is big enough (at least 2M
/// multiply-adds per worker).
///
/// - x: (rows, in) with row stride `xStride`; bias: (out) or nil; out: (rows, out)
func packedLinear(
    _ x: UnsafePointer<Float>, rows: Int, xStride: Int,
    weight: LinearWeight, bias: Tensor?,
    into out: UnsafeMutablePointer<Float>, accumulate: Bool, activation: nk_activation
) {
    let panels = (weight.outFeatures + Int(NK_PANEL) - 1) / Int(NK_PANEL)
    let workers = max(1, min(computeThreads, panels,
                             rows * weight.outFeatures * weight.inFeatures / (2 << 20)))
    let panelsPointer: PackedLinearJob.Panels
    switch weight.storage {
    case .packedF32(let p): panelsPointer = .f32(UnsafePointer(p.base))
    case .packedF16(let b): panelsPointer = .f16(UnsafePointer(b.base.assumingMemoryBound(to: UInt16.self)))
    case .packedInt8(let b, let scales):
        int8Linear(x, rows: rows, xStride: xStride, weight: weight, panels: UnsafePointer(b.base.assumingMemoryBound(to: Int8.self)),
                   scales: UnsafePointer(scales.base), panelCount: panels, workers: workers, bias: bias,
                   into: out, accumulate: accumulate, activation: activation)
        withExtendedLifetime(weight) {}
        return
    case .tensor: preconditionFailure("packedLinear: the weight is not packed")
    }
    let job = PackedLinearJob(x: x, rows: rows, xStride: xStride, panels: panelsPointer,
                              inFeatures: weight.inFeatures, outFeatures: weight.outFeatures,
                              panelCount: panels, bias: bias?.pointer, out: out, accumulate: accumulate,
                              activation: activation, workers: workers)
    parallelFor(workers) { job.run(worker: $0) }
    withExtendedLifetime(weight) {}
}

/// @unchecked Sendable: workers read x (or its quantized rows) and the panels and write disjoint
/// output columns.
private struct PackedLinearJob: @unchecked Sendable {
    enum Panels {
        case f32(UnsafePointer<Float>)
        case f16(UnsafePointer<UInt16>)
        /// Weight panels and scales, and x's rows as `nk_quantize_rows_int8` wrote them.
        case int8(UnsafePointer<Int8>, scales: UnsafePointer<Float>, rows: UnsafePointer<Int32>,
                  rowScales: UnsafePointer<Float>)
    }

    let x: UnsafePointer<Float>
    let rows, xStride: Int
    let panels: Panels
    let inFeatures, outFeatures, panelCount: Int
    let bias: UnsafePointer<Float>?
    let out: UnsafeMutablePointer<Float>
    let accumulate: Bool
    let activation: nk_activation
    let workers: Int

    func run(worker: Int) {
        let first = panelCount * worker / workers, last = panelCount * (worker + 1) / workers
        guard first < last else { return }
        switch panels {
        case .f32(let p):
            nk_packed_linear_avx2(x, xStride, 0, rows, p, inFeatures, outFeatures, first, last,
                                  bias, out, outFeatures, accumulate, activation)
        case .f16(let p):
            nk_packed_linear_f16_avx2(x, xStride, 0, rows, p, inFeatures, outFeatures, first, last,
                                      bias, out, outFeatures, accumulate, activation)
        case .int8(let p, let scales, let quantized, let rowScales):
            nk_int8_linear_avx2(quantized, rowScales, rows, p, scales, inFeatures, outFeatures, first, last,
                                bias, out, outFeatures, accumulate, activation)
        }
    }
}

/// The int8 path of `packedLinear`: x's rows quantized once (one scale per row), then the integer
/// kernel on each worker's panels.
private func int8Linear(
    _ x: UnsafePointer<Float>, rows: Int, xStride: Int, weight: LinearWeight,
    panels: UnsafePointer<Int8>, scales: UnsafePointer<Float>, panelCount: Int, workers: Int,
    bias: Tensor?, into out: UnsafeMutablePointer<Float>, accumulate: Bool, activation: nk_activation
) {
    let quantized = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, nk_int8_rows_count(rows, weight.inFeatures)))
    let rowScales = UnsafeMutablePointer<Float>.allocate(capacity: nk_int8_row_scales_count(rows))
    defer { quantized.deallocate(); rowScales.deallocate() }
    nk_quantize_rows_int8(x, xStride, rows, weight.inFeatures, quantized, rowScales)
    let job = PackedLinearJob(x: x, rows: rows, xStride: xStride,
                              panels: .int8(panels, scales: scales, rows: quantized, rowScales: rowScales),
                              inFeatures: weight.inFeatures, outFeatures: weight.outFeatures,
                              panelCount: panelCount, bias: bias?.pointer, out: out, accumulate: accumulate,
                              activation: activation, workers: workers)
    parallelFor(workers) { job.run(worker: $0) }
}
