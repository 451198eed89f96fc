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
/// - out: (batch·seq, heads·headDim) contiguous; with `onlyPosition`, (batch, heads·headDim): only
///   that position's query of each sequence (a row's output does not depend on the others asked)
/// - scores: scratch of at least `attentionScratchCount(batch:heads:seq:headDim:)` floats
public func multiHeadAttention(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, stride: Int,
    batch: Int, seq: Int, heads: Int, headDim: Int, causal: Bool, onlyPosition: Int? = nil,
    scores: UnsafeMutablePointer<Float>,
    into out: UnsafeMutablePointer<Float>
) {
    let width = heads * headDim
    let segments = (0..<batch).map { b in
        let first = onlyPosition ?? 0
        return AttentionSegment(q: q + (b * seq + first) * stride, k: k + b * seq * stride, v: v + b * seq * stride,
                                out: out + (onlyPosition == nil ? b * seq : b) * width, keys: seq,
                                queries: onlyPosition == nil ? seq : 1, firstQuery: first)
    }
    let job = AttentionJob(segments: segments, stride: stride, heads: heads, headDim: headDim, causal: causal,
                           maxKeys: seq, scores: scores, workers: attentionWorkers(batch: batch, heads: heads))
    parallelFor(job.workers) { job.run(worker: $0) }
}

/// One sequence of a batch whose shared prefixes are computed once: sequences that begin with the
/// same tokens have, under causal attention, the same activations at those positions, so each such
/// prefix has one row (a node of the batch's prefix tree) and every sequence through it reads it.
public struct SharedPrefixSequence: Sendable, Equatable {
    /// The activation row of each position, 0 ..< length.
    public let rows: [Int]
    /// The first position whose row is this sequence's own: rows[firstOwn...] are consecutive rows,
    /// and the ones before it (its shared prefix) are rows of earlier sequences.
    public let firstOwn: Int

    public init(rows: [Int], firstOwn: Int) {
        precondition(!rows.isEmpty && (0..<rows.count).contains(firstOwn), "SharedPrefixSequence: no own row")
        precondition(rows[firstOwn...].enumerated().allSatisfy { $0.element == rows[firstOwn] + $0.offset },
                     "SharedPrefixSequence: own rows must be consecutive")
        self.rows = rows
        self.firstOwn = firstOwn
    }
}

/// Floats of `gathered` scratch `causalAttention(qkv:…)` needs: a copy of the QKV rows of every
/// sequence that shares a prefix, so that its keys are consecutive.
public func sharedPrefixGatherCount(_ sequences: [SharedPrefixSequence], width: Int) -> Int {
    sequences.reduce(0) { $0 + ($1.firstOwn > 0 ? $1.rows.count : 0) } * 3 * width
}

/// Causal multi-head attention for sequences stored as a prefix tree (`SharedPrefixSequence`):
/// each sequence's own rows attend to its whole path (its shared prefix, then its own rows), and
/// each output row is what `multiHeadAttention(causal: true)` gives that sequence on its own.
///
/// - qkv: (rows, 3·width), a fused projection's q | k | v
/// - gathered: scratch of `sharedPrefixGatherCount` floats
/// - scores: scratch of `attentionScratchCount(batch: sequences.count, heads:, seq: longest, headDim:)`
/// - out: (rows, width), each sequence writing its own rows; with `only`, (only.count, width): row i
///   the query of position only[i].position of sequence only[i].sequence, alone
public func causalAttention(
    qkv: UnsafePointer<Float>, sequences: [SharedPrefixSequence], heads: Int, headDim: Int,
    only: [(sequence: Int, position: Int)]? = nil,
    gathered: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>,
    into out: UnsafeMutablePointer<Float>
) {
    let width = heads * headDim, stride = 3 * width
    var next = gathered
    // Each sequence's rows from position 0, consecutive: in place, or copied together when its
    // prefix's rows are elsewhere.
    let bases = sequences.map { s -> UnsafePointer<Float> in
        guard s.firstOwn > 0 else { return qkv + s.rows[0] * stride }
        for (position, row) in s.rows.enumerated() {
            (next + position * stride).update(from: qkv + row * stride, count: stride)
        }
        defer { next += s.rows.count * stride }
        return UnsafePointer(next)
    }
    let segments = only.map { only in
        only.enumerated().map { i, query in
            let base = bases[query.sequence]
            return AttentionSegment(q: base + query.position * stride, k: base + width, v: base + 2 * width,
                                    out: out + i * width, keys: sequences[query.sequence].rows.count, queries: 1,
                                    firstQuery: query.position)
        }
    } ?? zip(sequences, bases).map { s, base in
        AttentionSegment(q: base + s.firstOwn * stride, k: base + width, v: base + 2 * width,
                         out: out + s.rows[s.firstOwn] * width, keys: s.rows.count,
                         queries: s.rows.count - s.firstOwn, firstQuery: s.firstOwn)
    }
    // Workers as the scratch was sized (by sequences; `only` may ask more rows than there are sequences).
    let job = AttentionJob(segments: segments, stride: stride, heads: heads, headDim: headDim, causal: true,
                           maxKeys: sequences.map(\.rows.count).max() ?? 0, scores: scores,
                           workers: attentionWorkers(batch: sequences.count, heads: heads))
    parallelFor(job.workers) { job.run(worker: $0) }
}

/// One sequence's attention: its `queries` rows from position `firstQuery` on, against `keys` rows.
/// q at its first query row, k and v at position 0; row stride the job's `stride`; out (queries,
/// width) contiguous.
private struct AttentionSegment {
    let q, k, v: UnsafePointer<Float>
    let out: UnsafeMutablePointer<Float>
    let keys, queries, firstQuery: Int
}

/// One attention call's operands, shared by its workers. @unchecked Sendable: workers read q, k, v
/// and write disjoint parts of `out` (their heads' columns) and of `scores` (their own matrix).
private struct AttentionJob: @unchecked Sendable {
    let segments: [AttentionSegment]
    let stride, heads, headDim: Int
    let causal: Bool
    /// The longest segment's keys: what each worker's scratch is sized for.
    let maxKeys: Int
    let scores: UnsafeMutablePointer<Float>
    let workers: Int

    /// Pairs `worker, worker + workers, ...` go to one worker, which owns scores[worker].
    func run(worker: Int) {
        let width = heads * headDim
        let scale = 1 / Float(headDim).squareRoot()
        let scratch = scores + worker * attentionScratchPerWorker(seq: maxKeys, headDim: headDim)
        for pair in Swift.stride(from: worker, to: segments.count * heads, by: workers) {
            let s = segments[pair / heads], column = (pair % heads) * headDim
            if packedLinearAvailable {
                nk_attention_head_avx2(s.q + column, s.k + column, s.v + column, stride, s.keys, s.queries,
                                       s.firstQuery, headDim, scale, causal, scratch, s.out + column, width)
                continue
            }
            let p = scratch                                 // (queries, keys)
            // (queries, keys) = scale · Q_sh (queries, headDim) · K_shᵀ (headDim, keys)
            gemm(.none, .transposed, m: s.queries, n: s.keys, k: headDim, alpha: scale,
                 a: s.q + column, lda: stride,
                 b: s.k + column, ldb: stride,
                 beta: 0, c: p, ldc: s.keys)
            for i in 0..<s.queries {
                softmaxRow(p + i * s.keys, count: s.keys, valid: causal ? s.firstQuery + i + 1 : s.keys)
            }
            // (queries, headDim) = P (queries, keys) · V_sh (keys, headDim), written into head h's columns
            gemm(.none, .none, m: s.queries, n: headDim, k: s.keys,
                 a: p, lda: s.keys,
                 b: s.v + column, ldb: stride,
                 beta: 0, c: s.out + column, ldc: width)
        }
    }
}
