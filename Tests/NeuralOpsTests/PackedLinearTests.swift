import Foundation
import Testing
@testable import NeuralOps
import CNeuralKernels

// MARK: - Packed linear kernel against a plain reference

/// Seeded values in [-1, 1) (SplitMix64), so a failure reproduces.
struct SeededValues {
    var state: UInt64

    mutating func next() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) / Float(1 << 23) - 1
    }

    mutating func array(_ count: Int) -> [Float] { (0..<count).map { _ in next() } }
}

/// One case: rows x (out, in), input row stride `xStride` (≥ in), bias or not, accumulate or not.
struct PackedCase: CustomTestStringConvertible, Sendable {
    let rows, out, inFeatures, xStride: Int
    let bias, accumulate: Bool

    var testDescription: String {
        "\(rows)x\(out)x\(inFeatures) stride \(xStride)\(bias ? " bias" : "")\(accumulate ? " +=" : "")"
    }
}

/// Edge sizes for the 6x16 tiles, the 72-row blocks and the 768-wide K blocks: M = 1, M not a
/// multiple of 6, M past one and several row blocks; N not a multiple of 16 (and below 16); K not a
/// multiple of 8, K past one and two K blocks; strided inputs.
let packedCases: [PackedCase] = [
    PackedCase(rows: 1, out: 16, inFeatures: 8, xStride: 8, bias: true, accumulate: false),
    PackedCase(rows: 1, out: 5, inFeatures: 3, xStride: 3, bias: false, accumulate: false),
    PackedCase(rows: 3, out: 20, inFeatures: 0, xStride: 0, bias: true, accumulate: true),
    PackedCase(rows: 7, out: 40, inFeatures: 13, xStride: 13, bias: true, accumulate: false),
    PackedCase(rows: 6, out: 32, inFeatures: 768, xStride: 768, bias: true, accumulate: true),
    PackedCase(rows: 5, out: 17, inFeatures: 769, xStride: 800, bias: true, accumulate: false),
    PackedCase(rows: 13, out: 100, inFeatures: 1601, xStride: 1601, bias: false, accumulate: true),
    PackedCase(rows: 50, out: 768, inFeatures: 96, xStride: 288, bias: true, accumulate: false),
    PackedCase(rows: 77, out: 33, inFeatures: 600, xStride: 601, bias: true, accumulate: true),
    PackedCase(rows: 151, out: 64, inFeatures: 31, xStride: 31, bias: true, accumulate: false),
    PackedCase(rows: 301, out: 48, inFeatures: 70, xStride: 72, bias: true, accumulate: true),
]

@Test(arguments: packedCases)
func packedLinearMatchesReference(_ c: PackedCase) throws {
    try #require(packedLinearAvailable, "this CPU has no AVX2+FMA: the packed kernel is not used")
    var values = SeededValues(state: UInt64(c.rows * 1_000_003 + c.out * 1009 + c.inFeatures))
    let x = values.array(c.rows * c.xStride)            // (rows, in) with row stride xStride
    let w = values.array(c.out * c.inFeatures)          // (out, in)
    let b = values.array(c.out)
    let prior = values.array(c.rows * c.out)            // what `out` holds before an accumulate
    let weight = LinearWeight(Tensor(shape: [c.out, c.inFeatures], values: w))
    #expect(weight.packed != nil && weight.tensor == nil)
    let bias = c.bias ? Tensor(shape: [c.out], values: b) : nil

    var y = c.accumulate ? prior : [Float](repeating: .nan, count: c.rows * c.out)
    linear(x, rows: c.rows, xStride: c.xStride, weight: weight, bias: bias, into: &y, accumulate: c.accumulate)

    // Reference in Double; the bound scales with the sum of the terms' magnitudes (float rounding
    // of a blocked sum), far below what one wrong or missing term would give.
    var worst = 0.0
    for r in 0..<c.rows {
        for o in 0..<c.out {
            var sum = 0.0, magnitude = 0.0
            for i in 0..<c.inFeatures {
                let term = Double(x[r * c.xStride + i]) * Double(w[o * c.inFeatures + i])
                sum += term
                magnitude += abs(term)
            }
            if c.bias { sum += Double(b[o]); magnitude += abs(Double(b[o])) }
            if c.accumulate { sum += Double(prior[r * c.out + o]); magnitude += abs(Double(prior[r * c.out + o])) }
            let error = abs(Double(y[r * c.out + o]) - sum) / max(magnitude, 1e-30)
            worst = max(worst, error)
        }
    }
    #expect(worst < 1e-6, "worst error relative to the terms' magnitude: \(worst)")
}

@Test func packedAndUnpackedWeightsAgree() {
    // The same layer through the packed kernel and through the Tensor path (small rows and sgemm).
    var values = SeededValues(state: 42)
    let out = 70, inFeatures = 45
    let weightTensor = Tensor(shape: [out, inFeatures], values: values.array(out * inFeatures))
    let packed = LinearWeight(weightTensor)
    let plain = LinearWeight(weightTensor, pack: false)
    #expect(plain.packed == nil && plain.tensor != nil)
    let bias = Tensor(shape: [out], values: values.array(out))
    for rows in [1, 3, 8, 9, 50, 200] {
        let x = values.array(rows * inFeatures)
        var a = [Float](repeating: 0, count: rows * out), b = a
        linear(x, rows: rows, weight: packed, bias: bias, into: &a)
        linear(x, rows: rows, weight: plain, bias: bias, into: &b)
        #expect(maxError(a, b) < 1e-5, "rows \(rows)")
    }
}

/// QuickGELU fused into the packed kernel's store: applied once, after the whole sum and the bias
/// (K past one 768-wide block, so applying it per K block would show), on full and partial panels
/// and tiles, and equal to the unpacked path, which runs the activation as a separate pass.
@Test(arguments: [(rows: 7, out: 33, inFeatures: 40), (rows: 50, out: 64, inFeatures: 1000),
                  (rows: 13, out: 100, inFeatures: 1601)])
func fusedQuickGELUMatchesReference(_ c: (rows: Int, out: Int, inFeatures: Int)) throws {
    try #require(packedLinearAvailable, "this CPU has no AVX2+FMA: the packed kernel is not used")
    var values = SeededValues(state: UInt64(c.rows * 7919 + c.inFeatures))
    let x = values.array(c.rows * c.inFeatures)         // (rows, in)
    let w = values.array(c.out * c.inFeatures)          // (out, in)
    let b = values.array(c.out)
    let weightTensor = Tensor(shape: [c.out, c.inFeatures], values: w)
    let bias = Tensor(shape: [c.out], values: b)
    var fused = [Float](repeating: .nan, count: c.rows * c.out), separate = fused
    linear(x, rows: c.rows, weight: LinearWeight(weightTensor), bias: bias, into: &fused, activation: .quickGELU)
    linear(x, rows: c.rows, weight: LinearWeight(weightTensor, pack: false), bias: bias, into: &separate,
           activation: .quickGELU)

    // Both against the Double reference, the bound scaled by the sum of the terms' magnitudes (the
    // two paths sum in different orders, so at K = 1601 they differ by more than 1e-5 of the value).
    var worst = 0.0, worstSeparate = 0.0, negatives = 0
    for r in 0..<c.rows {
        for o in 0..<c.out {
            var z = Double(b[o]), magnitude = abs(Double(b[o]))
            for i in 0..<c.inFeatures {
                let term = Double(x[r * c.inFeatures + i]) * Double(w[o * c.inFeatures + i])
                z += term
                magnitude += abs(term)
            }
            if z < 0 { negatives += 1 }
            let expected = z / (1 + Foundation.exp(-1.702 * z))
            worst = max(worst, abs(Double(fused[r * c.out + o]) - expected) / max(magnitude, 1))
            worstSeparate = max(worstSeparate, abs(Double(separate[r * c.out + o]) - expected) / max(magnitude, 1))
        }
    }
    #expect(negatives > 0, "the case must reach the activation's curved part")
    #expect(worst < 2e-6, "fused: worst error relative to the terms' magnitude: \(worst)")
    #expect(worstSeparate < 2e-6, "separate pass: worst error relative to the terms' magnitude: \(worstSeparate)")
}

/// A row's output is the same bits, in each precision, whatever rows it is computed with: a call is
/// cut into pieces of 72 rows (many rows) or panel ranges (few), its rows into tiles and blocks by
/// their count (7 rows as 4 + 3, 75 as 72 + 3), and each row's sum must keep one order through all
/// of them (a text's embedding may not depend on its batch).
@Test(arguments: [WeightPrecision.f32, .f16, .int8])
func aRowsOutputDoesNotDependOnTheRowsBesideIt(_ precision: WeightPrecision) throws {
    try #require(packedLinearAvailable && halfWeightsAvailable, "this CPU has no AVX2+FMA+F16C")
    var values = SeededValues(state: 99)
    let out = 40, inFeatures = 800, all = 160
    let x = values.array(all * inFeatures)                               // (all, in)
    let weight = LinearWeight(Tensor(shape: [out, inFeatures], values: roundedToHalf(values.array(out * inFeatures))),
                              precision: precision)
    #expect(weight.precision == precision)
    let bias = Tensor(shape: [out], values: values.array(out))
    var whole = [Float](repeating: .nan, count: all * out)
    linear(x, rows: all, weight: weight, bias: bias, into: &whole)
    for (first, rows) in [(0, 1), (3, 2), (5, 7), (0, 8), (11, 13), (40, 50), (9, 75), (1, 145)] {
        let part = Array(x[first * inFeatures ..< (first + rows) * inFeatures])
        var y = [Float](repeating: .nan, count: rows * out)
        linear(part, rows: rows, weight: weight, bias: bias, into: &y)
        let expected = Array(whole[first * out ..< (first + rows) * out])
        #expect(y.map(\.bitPattern) == expected.map(\.bitPattern), "rows \(first)..<\(first + rows) of \(all)")
    }
}

/// On a CPU with AVX-512 the kernels run wider tiles (12 rows of 16 lanes), and int8 with VNNI
/// (vpdpbusd, offset weights) where the CPU has it; each output is the same sum in the same order
/// (int8: the same integer sum), so the bits equal the AVX2 tiles' in every precision, at every row
/// count and edge size of `packedCases` (odd k pairs among them).
@Test(.enabled(if: nk_has_avx512(), "this CPU has no AVX-512: only the AVX2 tiles run"),
      arguments: [WeightPrecision.f32, .f16, .int8])
func avx512TilesGiveTheBitsOfAVX2Tiles(_ precision: WeightPrecision) throws {
    defer { nk_set_avx512(true); nk_set_int8_vnni(true) }
    // (AVX-512, VNNI): AVX2 first, the reference.
    let kernels = [(false, false), (true, false)] + (precision == .int8 && nk_has_avx512_vnni() ? [(true, true)] : [])
    for c in packedCases {
        var values = SeededValues(state: UInt64(c.rows * 577 + c.out * 3 + c.inFeatures))
        let x = values.array(c.rows * c.xStride)                         // (rows, in), row stride xStride
        let w = roundedToHalf(values.array(c.out * c.inFeatures))        // (out, in)
        let weight = LinearWeight(Tensor(shape: [c.out, c.inFeatures], values: w), precision: precision)
        let bias = c.bias ? Tensor(shape: [c.out], values: values.array(c.out)) : nil
        let prior = values.array(c.rows * c.out)
        var outputs: [[UInt32]] = []
        for (wide, vnni) in kernels {
            nk_set_avx512(wide)
            nk_set_int8_vnni(vnni)
            var y = c.accumulate ? prior : [Float](repeating: .nan, count: c.rows * c.out)
            linear(x, rows: c.rows, xStride: c.xStride, weight: weight, bias: bias, into: &y, accumulate: c.accumulate,
                   activation: c.bias && !c.accumulate ? .quickGELU : nil)
            outputs.append(y.map(\.bitPattern))
        }
        for (kernel, output) in zip(kernels, outputs).dropFirst() {
            #expect(output == outputs[0], "\(c.testDescription), AVX-512 \(kernel.0), VNNI \(kernel.1)")
        }
    }
}
