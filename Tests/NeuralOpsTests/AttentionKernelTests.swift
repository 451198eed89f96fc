import Foundation
import Testing
@testable import NeuralOps

// MARK: - Attention at CLIP's sizes against a Double reference

/// Sizes the torch fixture (seq 5, head 3) does not reach: an image (50 tokens, 64-wide heads), a
/// full causal text (77), and sizes that are not multiples of the kernel's 8 lanes or 16-wide panels.
@Test(arguments: [(seq: 50, headDim: 64, causal: false), (seq: 77, headDim: 64, causal: true),
                  (seq: 19, headDim: 24, causal: true), (seq: 33, headDim: 40, causal: false)])
func attentionMatchesDoubleReference(_ c: (seq: Int, headDim: Int, causal: Bool)) {
    let batch = 2, heads = 3, width = heads * c.headDim, stride = 3 * width
    var values = SeededValues(state: UInt64(c.seq * 131 + c.headDim))
    let qkv = values.array(batch * c.seq * stride).map { $0 * 2 }   // (batch·seq, 3·width); sharp-ish scores
    var scratch = [Float](repeating: .nan,
                          count: attentionScratchCount(batch: batch, heads: heads, seq: c.seq, headDim: c.headDim))
    var y = [Float](repeating: .nan, count: batch * c.seq * width)
    qkv.withUnsafeBufferPointer { p in
        let base = p.baseAddress!
        multiHeadAttention(q: base, k: base + width, v: base + 2 * width, stride: stride,
                           batch: batch, seq: c.seq, heads: heads, headDim: c.headDim, causal: c.causal,
                           scores: &scratch, into: &y)
    }
    let scale = 1 / Double(c.headDim).squareRoot()
    var worst = 0.0
    for b in 0..<batch {
        for h in 0..<heads {
            let at = { (row: Int, part: Int, d: Int) in Double(qkv[(b * c.seq + row) * stride + part * width + h * c.headDim + d]) }
            for i in 0..<c.seq {
                let visible = c.causal ? i + 1 : c.seq
                let logits = (0..<visible).map { j in scale * (0..<c.headDim).reduce(0.0) { $0 + at(i, 0, $1) * at(j, 1, $1) } }
                let top = logits.max()!
                let weights = logits.map { Foundation.exp($0 - top) }
                let total = weights.reduce(0, +)
                for d in 0..<c.headDim {
                    let expected = (0..<visible).reduce(0.0) { $0 + weights[$1] / total * at($1, 2, d) }
                    worst = max(worst, abs(Double(y[(b * c.seq + i) * width + h * c.headDim + d]) - expected))
                }
            }
        }
    }
    #expect(worst < 1e-5, "worst absolute error: \(worst)")
}

// MARK: - Sequences sharing prefixes

/// `causalAttention` over a prefix tree gives each sequence's own rows the bits `multiHeadAttention`
/// gives that sequence alone (its path's rows copied out as a dense sequence).
@Test func sharedPrefixAttentionEqualsEachSequenceAlone() {
    let heads = 2, headDim = 24, width = heads * headDim, stride = 3 * width
    // Rows 0-5: A (6 positions). B: A's first 3, then rows 6-9. C: B's first 5, then rows 10-11.
    // D: row 0, then 12 (shares the first position only).
    let sequences = [SharedPrefixSequence(rows: Array(0..<6), firstOwn: 0),
                     SharedPrefixSequence(rows: [0, 1, 2, 6, 7, 8, 9], firstOwn: 3),
                     SharedPrefixSequence(rows: [0, 1, 2, 6, 7, 10, 11], firstOwn: 5),
                     SharedPrefixSequence(rows: [0, 12], firstOwn: 1)]
    let rows = 13
    var values = SeededValues(state: 77)
    let qkv = values.array(rows * stride).map { $0 * 2 }            // (rows, 3·width)
    var out = [Float](repeating: .nan, count: rows * width)
    let longest = sequences.map(\.rows.count).max()!
    var scores = [Float](repeating: .nan, count: attentionScratchCount(batch: sequences.count, heads: heads, seq: longest, headDim: headDim))
    var gathered = [Float](repeating: .nan, count: sharedPrefixGatherCount(sequences, width: width))
    #expect(gathered.count == (7 + 7 + 2) * stride)
    qkv.withUnsafeBufferPointer { p in
        causalAttention(qkv: p.baseAddress!, sequences: sequences, heads: heads, headDim: headDim,
                        gathered: &gathered, scores: &scores, into: &out)
    }
    // Only some queries (as a tower's last block computes only the rows it reads): the same bits.
    let only = [(sequence: 1, position: 6), (sequence: 0, position: 2), (sequence: 3, position: 1), (sequence: 2, position: 6)]
    var some = [Float](repeating: .nan, count: only.count * width)
    qkv.withUnsafeBufferPointer { p in
        causalAttention(qkv: p.baseAddress!, sequences: sequences, heads: heads, headDim: headDim, only: only,
                        gathered: &gathered, scores: &scores, into: &some)
    }
    for (i, query) in only.enumerated() {
        let row = sequences[query.sequence].rows[query.position]
        #expect(some[i * width ..< (i + 1) * width].map(\.bitPattern) == out[row * width ..< (row + 1) * width].map(\.bitPattern),
                "only \(query)")
    }
    for s in sequences {
        let dense = s.rows.flatMap { qkv[$0 * stride ..< ($0 + 1) * stride] }   // (length, 3·width)
        var alone = [Float](repeating: .nan, count: s.rows.count * width)
        var scratch = [Float](repeating: .nan, count: attentionScratchCount(batch: 1, heads: heads, seq: s.rows.count, headDim: headDim))
        dense.withUnsafeBufferPointer { p in
            let base = p.baseAddress!
            multiHeadAttention(q: base, k: base + width, v: base + 2 * width, stride: stride, batch: 1, seq: s.rows.count,
                               heads: heads, headDim: headDim, causal: true, scores: &scratch, into: &alone)
        }
        for (position, row) in s.rows.enumerated() where position >= s.firstOwn {
            #expect(out[row * width ..< (row + 1) * width].map(\.bitPattern)
                    == alone[position * width ..< (position + 1) * width].map(\.bitPattern), "row \(row)")
        }
    }
}

/// `onlyPosition` (ViT's last block reads the class token only) gives that row's bits of the full call.
@Test(arguments: [false, true])
func attentionAtOnePositionEqualsThatRowOfTheFullCall(causal: Bool) {
    let batch = 3, seq = 50, heads = 2, headDim = 32, width = heads * headDim, stride = 3 * width
    var values = SeededValues(state: causal ? 5 : 6)
    let qkv = values.array(batch * seq * stride)
    var scores = [Float](repeating: .nan, count: attentionScratchCount(batch: batch, heads: heads, seq: seq, headDim: headDim))
    var full = [Float](repeating: .nan, count: batch * seq * width)
    for position in [0, 17, seq - 1] {
        var one = [Float](repeating: .nan, count: batch * width)
        qkv.withUnsafeBufferPointer { p in
            let base = p.baseAddress!
            multiHeadAttention(q: base, k: base + width, v: base + 2 * width, stride: stride, batch: batch, seq: seq,
                               heads: heads, headDim: headDim, causal: causal, scores: &scores, into: &full)
            multiHeadAttention(q: base, k: base + width, v: base + 2 * width, stride: stride, batch: batch, seq: seq,
                               heads: heads, headDim: headDim, causal: causal, onlyPosition: position,
                               scores: &scores, into: &one)
        }
        for b in 0..<batch {
            let row = b * seq + position
            #expect(one[b * width ..< (b + 1) * width].map(\.bitPattern) == full[row * width ..< (row + 1) * width].map(\.bitPattern),
                    "image \(b), position \(position)")
        }
    }
}
