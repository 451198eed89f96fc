import CNeuralKernels
import Dispatch
import Foundation

/// How many threads `multiHeadAttention` splits its (batch, head) pairs over: one per core, at most
/// one per pair. The small per-head GEMMs run single-threaded inside OpenBLAS, so without this the
/// attention step would use one core.
public func attentionWorkers(batch: Int, heads: Int) -> Int {
    max(1, min(batch * heads, computeThreads))
}

/// Floats of `scores` scratch `multiHeadAttention` needs per worker: the (seq, seq) scores, and with
/// the AVX2 kernel also K and Vᵀ packed as its weight panels.
func attentionScratchPerWorker(seq: Int, headDim: Int) -> Int {
    packedLinearAvailable ? nk_attention_scratch_count(seq, headDim) : seq * seq
}

/// Floats of `scores` scratch `multiHeadAttention` needs: `attentionScratchPerWorker` per worker.
public func attentionScratchCount(batch: Int, heads: Int, seq: Int, headDim: Int) -> Int {
    attentionWorkers(batch: batch, heads: heads) * attentionScratchPerWorker(seq: seq, headDim: headDim)
}

/// Multi-head scaled dot-product attention over row-major activations, per (batch, head):
/// `out_bh = softmax(scale · Q_bh · K_bhᵀ [+ causal mask]) · V_bh`, with `scale = 1/√headDim`.
///
/// Head h of a row is columns `h·headDim ..< (h+1)·headDim`, so each head is a strided view
/// (leading dimension `stride`). With AVX2+FMA a head is one call of `nk_attention_head_avx2` (K and V
/// packed for the linear micro-kernel, AVX2 softmax); otherwise the two products are sgemm calls on
/// the strided views.
///
/// - q, k, v: (batch·seq, heads·headDim) each with row stride `stride` (e.g. `3·width` when they are
///   the three column blocks of a fused QKV projection)
/// - out: (batch·seq, heads·headDim) contiguous
/// - scores: scratch of at least `attentionScratchCount(batch:heads:seq:headDim:)` floats
public func multiHeadAttention(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, stride: Int,
    batch: Int, seq: Int, heads: Int, headDim: Int, causal: Bool,
    scores: UnsafeMutablePointer<Float>,
    into out: UnsafeMutablePointer<Float>
) {
    let job = AttentionJob(q: q, k: k, v: v, stride: stride, batch: batch, seq: seq, heads: heads,
                           headDim: headDim, causal: causal, scores: scores, out: out,
                           workers: attentionWorkers(batch: batch, heads: heads))
    parallelFor(job.workers) { job.run(worker: $0) }
}

/// One attention call's operands, shared by its workers. @unchecked Sendable: workers read q, k, v
/// and write disjoint parts of `out` (their heads' columns) and of `scores` (their own matrix).
private struct AttentionJob: @unchecked Sendable {
    let q, k, v: UnsafePointer<Float>
    let stride, batch, seq, heads, headDim: Int
    let causal: Bool
    let scores, out: UnsafeMutablePointer<Float>
    let workers: Int

    /// Pairs `worker, worker + workers, ...` go to one worker, which owns scores[worker].
    func run(worker: Int) {
        let width = heads * headDim
        let scale = 1 / Float(headDim).squareRoot()
        let scratch = scores + worker * attentionScratchPerWorker(seq: seq, headDim: headDim)
        for pair in Swift.stride(from: worker, to: batch * heads, by: workers) {
            let b = pair / heads, h = pair % heads
            let rowOffset = b * seq * stride + h * headDim
            if packedLinearAvailable {
                nk_attention_head_avx2(q + rowOffset, k + rowOffset, v + rowOffset, stride, seq, headDim, scale,
                                       causal, scratch, out + b * seq * width + h * headDim, width)
                continue
            }
            let p = scratch                                 // (seq, seq)
            // (seq, seq) = scale · Q_bh (seq, headDim) · K_bhᵀ (headDim, seq)
            gemm(.none, .transposed, m: seq, n: seq, k: headDim, alpha: scale,
                 a: q + rowOffset, lda: stride,
                 b: k + rowOffset, ldb: stride,
                 beta: 0, c: p, ldc: seq)
            for i in 0..<seq {
                softmaxRow(p + i * seq, count: seq, valid: causal ? i + 1 : seq)
            }
            // (seq, headDim) = P (seq, seq) · V_bh (seq, headDim), written into head h's columns
            gemm(.none, .none, m: seq, n: headDim, k: seq,
                 a: p, lda: seq,
                 b: v + rowOffset, ldb: stride,
                 beta: 0, c: out + b * seq * width + h * headDim, ldc: width)
        }
    }
}
