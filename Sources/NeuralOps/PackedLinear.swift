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
/// into the column panels of the C micro-kernel (`nk_packed_linear_avx2`, 6x16 output tiles, 12x16 on AVX-512) and the
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

/// The packed kernels' tiles on this CPU: "avx512" (12 rows of 16 lanes), "avx2", or "none" (sgemm).
public var linearKernelTiles: String {
    packedLinearAvailable ? (nk_avx512_enabled() ? "avx512" : "avx2") : "none"
}

/// Hands the heap's free pages back to the system: call after loading, when the weights' temporary
/// copies are gone (glibc keeps freed blocks resident otherwise).
public func releaseFreeMemory() { nk_release_free_memory() }

/// The most rows per piece when a call is split over rows: one row block of the f32 kernel.
let linearRowPiece = 72

/// `out = x · Wᵀ + b` (or `+=` with `accumulate`), then `activation` as it is stored, with the packed
/// kernel on every core. Many rows (a batch of images or texts) are cut into pieces of equal size,
/// at most `linearRowPiece`, as many as a multiple of the cores, that the workers take as they come
/// free: a core that another process holds for a while does not hold the whole layer back, and each
/// row is packed (or quantized) once.
/// Few rows (a query) are split by output panels instead, when the layer is big enough (at least
/// 2M multiply-adds per worker). A row's result does not depend on the split.
///
/// - x: (rows, in) with row stride `xStride`; bias: (out) or nil; out: (rows, out)
func packedLinear(
    _ x: UnsafePointer<Float>, rows: Int, xStride: Int,
    weight: LinearWeight, bias: Tensor?,
    into out: UnsafeMutablePointer<Float>, accumulate: Bool, activation: nk_activation
) {
    let panelCount = (weight.outFeatures + Int(NK_PANEL) - 1) / Int(NK_PANEL)
    let panels: PackedLinearJob.Panels
    switch weight.storage {
    case .packedF32(let p): panels = .f32(UnsafePointer(p.base))
    case .packedF16(let b): panels = .f16(UnsafePointer(b.base.assumingMemoryBound(to: UInt16.self)))
    case .packedInt8(let b, let scales):
        panels = .int8(UnsafePointer(b.base.assumingMemoryBound(to: Int8.self)), scales: UnsafePointer(scales.base))
    case .tensor: preconditionFailure("packedLinear: the weight is not packed")
    }
    let job = PackedLinearJob(x: x, rows: rows, xStride: xStride, panels: panels,
                              inFeatures: weight.inFeatures, outFeatures: weight.outFeatures,
                              bias: bias?.pointer, out: out, accumulate: accumulate, activation: activation)
    if computeThreads > 1 && rows >= 2 * linearRowPiece {
        let least = (rows + linearRowPiece - 1) / linearRowPiece
        let pieces = (least + computeThreads - 1) / computeThreads * computeThreads
        parallelFor(pieces) { piece in
            job.run(rows: piece * rows / pieces ..< (piece + 1) * rows / pieces, panels: 0 ..< panelCount)
        }
    } else {
        let workers = max(1, min(computeThreads, panelCount, rows * weight.outFeatures * weight.inFeatures / (2 << 20)))
        let split = PackedLinearJob.PanelSplit(job, workers: workers, panelCount: panelCount)
        parallelFor(workers) { split.run(worker: $0) }
    }
    withExtendedLifetime(weight) {}
}

/// One call's operands. @unchecked Sendable: workers read x and the panels and write disjoint
/// output rows or columns.
private struct PackedLinearJob: @unchecked Sendable {
    enum Panels {
        case f32(UnsafePointer<Float>)
        case f16(UnsafePointer<UInt16>)
        /// Weight panels and per-output-channel scales.
        case int8(UnsafePointer<Int8>, scales: UnsafePointer<Float>)
    }

    let x: UnsafePointer<Float>
    let rows, xStride: Int
    let panels: Panels
    let inFeatures, outFeatures: Int
    let bias: UnsafePointer<Float>?
    let out: UnsafeMutablePointer<Float>
    let accumulate: Bool
    let activation: nk_activation

    /// out[rows, panels' columns]; int8 quantizes these rows first (one scale per row), unless
    /// `quantized` holds all of x's rows already.
    func run(rows part: Range<Int>, panels columns: Range<Int>, quantized: QuantizedInt8Rows? = nil) {
        guard !part.isEmpty, !columns.isEmpty else { return }
        let (first, last) = (columns.lowerBound, columns.upperBound)
        switch panels {
        case .f32(let p):
            nk_packed_linear_avx2(x, xStride, part.lowerBound, part.upperBound, p, inFeatures, outFeatures, first, last,
                                  bias, out, outFeatures, accumulate, activation)
        case .f16(let p):
            nk_packed_linear_f16_avx2(x, xStride, part.lowerBound, part.upperBound, p, inFeatures, outFeatures, first, last,
                                      bias, out, outFeatures, accumulate, activation)
        case .int8(let p, let scales):
            precondition(quantized == nil || part == 0 ..< rows, "packedLinear: quantized rows are all of x's")
            let q = quantized ?? QuantizedInt8Rows(x + part.lowerBound * xStride, xStride: xStride, rows: part.count,
                                                   inFeatures: inFeatures)
            nk_int8_linear_avx2(q.codes, q.scales, part.count, p, scales, inFeatures, outFeatures, first, last,
                                bias, out + part.lowerBound * outFeatures, outFeatures, accumulate, activation, q.vnni)
        }
    }

    /// Rows quantized for the int8 kernel (`nk_quantize_rows_int8`), in the format of the kernel
    /// chosen now (VNNI or not): one answer for the quantization and the kernel calls that read them.
    final class QuantizedInt8Rows: @unchecked Sendable {
        let codes: UnsafeMutablePointer<Int32>
        let scales: UnsafeMutablePointer<Float>
        let vnni = nk_int8_vnni_enabled()

        init(_ x: UnsafePointer<Float>, xStride: Int, rows: Int, inFeatures: Int) {
            codes = .allocate(capacity: max(1, nk_int8_rows_count(rows, inFeatures)))
            scales = .allocate(capacity: nk_int8_row_scales_count(rows))
            nk_quantize_rows_int8(x, xStride, rows, inFeatures, codes, scales, vnni)
        }

        deinit {
            codes.deallocate()
            scales.deallocate()
        }
    }

    /// Few rows: the output panels cut into one range per worker (int8 rows quantized once, here).
    final class PanelSplit: @unchecked Sendable {
        let job: PackedLinearJob
        let workers, panelCount: Int
        private let quantized: QuantizedInt8Rows?

        init(_ job: PackedLinearJob, workers: Int, panelCount: Int) {
            self.job = job
            self.workers = workers
            self.panelCount = panelCount
            if case .int8 = job.panels, workers > 1 {
                quantized = QuantizedInt8Rows(job.x, xStride: job.xStride, rows: job.rows, inFeatures: job.inFeatures)
            } else {
                quantized = nil
            }
        }

        func run(worker: Int) {
            job.run(rows: 0 ..< job.rows, panels: panelCount * worker / workers ..< panelCount * (worker + 1) / workers,
                    quantized: quantized)
        }
    }
}
