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
