import Foundation
import Testing
@testable import NeuralOps

// The int8 kernel against a reference written here from the definition (per-output-channel weight
// scales max|w|/127, per-row input scales max|x|/127, round half to even, exact integer sums), and
// its fidelity to the f32 layer on random data.

/// nearbyint(v / scale) clamped to ±127, scale = max|v| / 127 (1 when all are 0).
private func quantized(_ v: ArraySlice<Float>) -> (q: [Int], scale: Float) {
    let amax = v.map(abs).max() ?? 0
    let scale = amax > 0 ? amax / 127 : 1
    return (v.map { Int(max(-127, min(127, ($0 / scale).rounded(.toNearestOrEven)))) }, scale)
}

@Test(arguments: packedCases)
func int8LinearMatchesItsDefinition(_ c: PackedCase) throws {
    try #require(packedLinearAvailable, "this CPU has no AVX2+FMA: int8 weights are not used")
    var values = SeededValues(state: UInt64(c.rows * 131 + c.out * 17 + c.inFeatures))
    let x = values.array(c.rows * c.xStride)            // (rows, in), row stride xStride
    let w = values.array(c.out * c.inFeatures)          // (out, in)
    let b = values.array(c.out)
    let prior = values.array(c.rows * c.out)
    let weight = LinearWeight(Tensor(shape: [c.out, c.inFeatures], values: w), precision: .int8)
    #expect(weight.precision == .int8)
    let bias = c.bias ? Tensor(shape: [c.out], values: b) : nil
    var y = c.accumulate ? prior : [Float](repeating: .nan, count: c.rows * c.out)
    linear(x, rows: c.rows, xStride: c.xStride, weight: weight, bias: bias, into: &y, accumulate: c.accumulate)

    let qw = (0..<c.out).map { quantized(w[$0 * c.inFeatures ..< ($0 + 1) * c.inFeatures]) }
    var worst: Float = 0
    for r in 0..<c.rows {
        let qx = quantized(x[r * c.xStride ..< r * c.xStride + c.inFeatures])
        for o in 0..<c.out {
            let dot = zip(qx.q, qw[o].q).reduce(0) { $0 + $1.0 * $1.1 }
            var expected = Float(dot) * (qx.scale * qw[o].scale)
            if c.bias { expected += b[o] }
            if c.accumulate { expected += prior[r * c.out + o] }
            worst = max(worst, abs(y[r * c.out + o] - expected) / max(1, abs(expected)))
        }
    }
    #expect(worst < 1e-5, "worst error against the definition: \(worst)")
}

@Test func int8LinearStaysCloseToF32() throws {
    try #require(packedLinearAvailable, "this CPU has no AVX2+FMA: int8 weights are not used")
    // A ViT-B/32 MLP-shaped layer on LayerNorm-like inputs: the output's cosine to f32, row by row.
    var values = SeededValues(state: 99)
    let rows = 50, out = 512, inFeatures = 768
    let x = values.array(rows * inFeatures).map { $0 * 1.7 }
    let w = values.array(out * inFeatures).map { $0 * 0.036 }
    let tensor = Tensor(shape: [out, inFeatures], values: w)
    var a = [Float](repeating: 0, count: rows * out), b = a, gelu8 = a, gelu32 = a
    linear(x, rows: rows, weight: LinearWeight(tensor, precision: .int8), bias: nil, into: &a)
    linear(x, rows: rows, weight: LinearWeight(tensor), bias: nil, into: &b)
    linear(x, rows: rows, weight: LinearWeight(tensor, precision: .int8), bias: nil, into: &gelu8, activation: .quickGELU)
    linear(x, rows: rows, weight: LinearWeight(tensor), bias: nil, into: &gelu32, activation: .quickGELU)
    func rowCosine(_ u: [Float], _ v: [Float], _ r: Int) -> Double {
        var dot = 0.0, nu = 0.0, nv = 0.0
        for o in r * out ..< (r + 1) * out { dot += Double(u[o] * v[o]); nu += Double(u[o] * u[o]); nv += Double(v[o] * v[o]) }
        return dot / (nu * nv).squareRoot()
    }
    let worst = (0..<rows).map { rowCosine(a, b, $0) }.min()!
    let worstGELU = (0..<rows).map { rowCosine(gelu8, gelu32, $0) }.min()!
    // Uniform inputs and weights: 8-bit steps of max/127 give about 0.9999 here.
    #expect(worst > 0.9995 && worst < 1, "worst row cosine \(worst)")
    #expect(worstGELU > 0.9995, "worst row cosine after QuickGELU \(worstGELU)")
}
