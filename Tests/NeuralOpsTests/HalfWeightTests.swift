import Foundation
import Testing
@testable import NeuralOps

// f16 weight panels: on weights that are exact f16 values the f16 kernel's outputs are the f32
// kernel's, bit for bit (same FMAs in the same order); the exactness check sees a single weight
// that is not one; and `.f16` on other weights rounds them to nearest even, as Swift's Float16 does.

/// Each value rounded to the nearest f16 (ties to even), back as Float.
func roundedToHalf(_ values: [Float]) -> [Float] { values.map { Float(Float16($0)) } }

@Test(arguments: packedCases)
func halfPanelsGiveTheBitsOfFloatPanels(_ c: PackedCase) throws {
    try #require(halfWeightsAvailable, "this CPU has no F16C: f16 weights are not used")
    var values = SeededValues(state: UInt64(c.rows * 31 + c.out * 7 + c.inFeatures))
    let x = values.array(c.rows * c.xStride)                         // (rows, in), row stride xStride
    let w = roundedToHalf(values.array(c.out * c.inFeatures))        // (out, in), exact f16 values
    let bias = c.bias ? Tensor(shape: [c.out], values: values.array(c.out)) : nil
    let prior = values.array(c.rows * c.out)
    let tensor = Tensor(shape: [c.out, c.inFeatures], values: w)
    #expect(LinearWeight(tensor, pack: false).isExactlyHalf)
    let half = LinearWeight(tensor, precision: .f16), single = LinearWeight(tensor, precision: .f32)
    #expect(half.precision == .f16 && single.precision == .f32)
    #expect(half.byteCount * 2 == single.byteCount)

    for activation in c.accumulate ? [nil] : [nil, Activation.quickGELU] {
        var a = c.accumulate ? prior : [Float](repeating: .nan, count: c.rows * c.out), b = a
        linear(x, rows: c.rows, xStride: c.xStride, weight: half, bias: bias, into: &a, accumulate: c.accumulate,
               activation: activation)
        linear(x, rows: c.rows, xStride: c.xStride, weight: single, bias: bias, into: &b, accumulate: c.accumulate,
               activation: activation)
        #expect(a.map(\.bitPattern) == b.map(\.bitPattern), "activation \(String(describing: activation))")
    }
}

@Test func oneWeightThatIsNotAnF16ValueIsSeen() throws {
    try #require(halfWeightsAvailable, "this CPU has no F16C: f16 weights are not used")
    var values = SeededValues(state: 5)
    for count in [1, 7, 8, 9, 4099] {
        var w = roundedToHalf(values.array(count))
        w[0] = 0  // -0, subnormals, the extremes: still exact
        if count > 4 { w[1] = -0.0; w[2] = Float(Float16.leastNonzeroMagnitude); w[3] = Float(Float16.greatestFiniteMagnitude) }
        #expect(LinearWeight(Tensor(shape: [1, count], values: w), pack: false).isExactlyHalf)
        for position in Set([0, count / 2, count - 1]) {
            var off = w
            off[position] = Float(bitPattern: off[position].bitPattern + 1)  // one ulp of f32 away
            #expect(!LinearWeight(Tensor(shape: [1, count], values: off), pack: false).isExactlyHalf,
                    "count \(count), position \(position)")
        }
    }
    let tiny = [Float(Float16.leastNonzeroMagnitude) / 4]  // rounds to 0 in f16
    #expect(!LinearWeight(Tensor(shape: [1, 1], values: tiny), pack: false).isExactlyHalf)
}

@Test func halfPrecisionRoundsOtherWeightsToNearestHalf() throws {
    try #require(halfWeightsAvailable, "this CPU has no F16C: f16 weights are not used")
    var values = SeededValues(state: 77)
    let rows = 9, out = 40, inFeatures = 70
    let x = values.array(rows * inFeatures)
    let w = values.array(out * inFeatures).map { $0 * 3 }
    let rounded = LinearWeight(Tensor(shape: [out, inFeatures], values: roundedToHalf(w)))
    let half = LinearWeight(Tensor(shape: [out, inFeatures], values: w), precision: .f16)
    #expect(!LinearWeight(Tensor(shape: [out, inFeatures], values: w), pack: false).isExactlyHalf)
    var a = [Float](repeating: 0, count: rows * out), b = a
    linear(x, rows: rows, weight: half, bias: nil, into: &a)
    linear(x, rows: rows, weight: rounded, bias: nil, into: &b)
    #expect(a.map(\.bitPattern) == b.map(\.bitPattern))
}

@Test func unpackedWeightsArePackedInTheAskedPrecision() throws {
    try #require(halfWeightsAvailable, "this CPU has no F16C: f16 weights are not used")
    let tensor = Tensor(shape: [3, 5], values: roundedToHalf((0..<15).map { Float($0) / 7 }))
    let plain = LinearWeight(tensor, pack: false)
    #expect(plain.precision == .f32 && plain.tensor != nil)
    #expect(plain.prepared(.f16).precision == .f16)
    #expect(plain.prepared(.f32).packed != nil)
    // Once packed it stays as it is.
    #expect(plain.prepared(.f16).prepared(.f32).precision == .f16)
}

@Test func embeddingTablesTurnF16OnlyWhenLossless() throws {
    try #require(halfWeightsAvailable, "this CPU has no F16C: f16 weights are not used")
    var values = SeededValues(state: 12)
    let rows = 11, width = 13
    let exact = roundedToHalf(values.array(rows * width))
    let table = EmbeddingTable(Tensor(shape: [rows, width], values: exact)).compacted()
    #expect(table.precision == .f16)
    var row = [Float](repeating: .nan, count: width)
    for r in [0, 5, rows - 1] {
        table.copyRow(r, into: &row)
        #expect(row.map(\.bitPattern) == exact[r * width ..< (r + 1) * width].map(\.bitPattern))
    }
    var other = exact
    other[40] = Float(bitPattern: other[40].bitPattern ^ 1)
    #expect(EmbeddingTable(Tensor(shape: [rows, width], values: other)).compacted().precision == .f32)
}
