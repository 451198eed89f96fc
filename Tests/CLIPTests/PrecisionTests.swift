import Foundation
import NeuralOps
import Testing
@testable import CLIP

// `--precision` (DESIGN.md 3): `auto` runs a tower in f16 only where every linear weight is an exact
// f16 value, and then its embeddings are bit-identical to f32's; one weight that is not sends that
// tower (alone) back to f32; `f16` on other weights rounds them.

/// A copy of an F32 safetensors model folder with every F32 tensor's values passed through `transform`
/// (name, values) → values; header, config and the rest unchanged.
private func rewrittenModel(_ source: URL, _ transform: (String, [Float]) -> [Float]) throws -> URL {
    let folder = try temporaryDirectory()
    for name in ["config.json", "expected.json"] {
        try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: folder.appendingPathComponent(name))
    }
    var data = try Data(contentsOf: source.appendingPathComponent("model.safetensors"))
    let headerLength = Int(data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
    let header = try #require(try JSONSerialization.jsonObject(with: data[8 ..< 8 + headerLength]) as? [String: Any])
    for (name, entry) in header {
        guard let entry = entry as? [String: Any], entry["dtype"] as? String == "F32",
              let offsets = entry["data_offsets"] as? [Int] else { continue }
        let start = 8 + headerLength + offsets[0], count = (offsets[1] - offsets[0]) / 4
        let values = data.withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 4 * $0, as: UInt32.self))) }
        }
        let changed = transform(name, values)
        data.withUnsafeMutableBytes { raw in
            for (i, v) in changed.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: start + 4 * i, as: UInt32.self) }
        }
    }
    try data.write(to: folder.appendingPathComponent("model.safetensors"))
    return folder
}

private func halfRounded(_ values: [Float]) -> [Float] { values.map { Float(Float16($0)) } }

private func embeddings(_ model: CLIPModel) throws -> [[Float]] {
    let (pixels, count) = try ModelFixtures.pixels()
    return pixels.withUnsafeBufferPointer { model.imageEmbeddings(pixels: $0, batch: count) }
        + model.textEmbeddings(tokenIds: try ModelFixtures.texts().map(\.ids))
}

private func bits(_ rows: [[Float]]) -> [[UInt32]] { rows.map { $0.map(\.bitPattern) } }

@Test func autoRunsTheF16FixtureInF16WithTheEmbeddingsOfF32() throws {
    try #require(halfWeightsAvailable, "this CPU has no F16C: f16 weights are not used")
    let auto = try CLIPModel(directory: ModelFixtures.huggingFaceF16)
    let single = try CLIPModel(directory: ModelFixtures.huggingFaceF16, precision: .f32)
    #expect(auto.imagePrecision == .f16 && auto.textPrecision == .f16 && auto.precisionLabel == "f16")
    #expect(single.precisionLabel == "f32")
    let a = try embeddings(auto), b = try embeddings(single)
    #expect(bits(a) == bits(b))
    // And both are transformers' (the parity bound of ModelParityTests).
    let expected = try ModelFixtures.expected(ModelFixtures.huggingFaceF16)
    for (i, row) in expected.imageEmbeddings.enumerated() { #expect(cosine(a[i], row) >= 0.9999) }
}

@Test func autoOnARoundedF32ModelIsF16AndBitIdentical() throws {
    try #require(halfWeightsAvailable, "this CPU has no F16C: f16 weights are not used")
    let folder = try rewrittenModel(ModelFixtures.openCLIPF32) { halfRounded($1) }
    defer { try? FileManager.default.removeItem(at: folder) }
    let auto = try CLIPModel(directory: folder)
    let single = try CLIPModel(directory: folder, precision: .f32)
    #expect(auto.precisionLabel == "f16")
    #expect(auto.text.weights.tokenEmbedding.precision == .f16 && single.text.weights.tokenEmbedding.precision == .f32)
    #expect(bits(try embeddings(auto)) == bits(try embeddings(single)))
}

@Test func oneWeightThatIsNotF16SendsItsTowerAloneToF32() throws {
    try #require(halfWeightsAvailable, "this CPU has no F16C: f16 weights are not used")
    // One element of one vision layer's fused QKV weight, one f32 ulp off its f16 value.
    let folder = try rewrittenModel(ModelFixtures.openCLIPF32) { name, values in
        var rounded = halfRounded(values)
        if name == "visual.transformer.resblocks.1.attn.in_proj_weight" {
            rounded[17] = Float(bitPattern: rounded[17].bitPattern + 1)
        }
        return rounded
    }
    defer { try? FileManager.default.removeItem(at: folder) }
    let auto = try CLIPModel(directory: folder)
    #expect(auto.imagePrecision == .f32 && auto.textPrecision == .f16)
    #expect(auto.precisionLabel == "image=f32,text=f16")
    let single = try CLIPModel(directory: folder, precision: .f32)
    #expect(bits(try embeddings(auto)) == bits(try embeddings(single)))
    // The unrounded fixture: no tower is f16 under auto.
    #expect(try CLIPModel(directory: ModelFixtures.openCLIPF32).precisionLabel == "f32")
}

@Test func f16OnAnF32ModelRoundsItsWeights() throws {
    try #require(halfWeightsAvailable, "this CPU has no F16C: f16 weights are not used")
    // Only the linear weights are rounded under `f16`: round those alone in the copy (not embeddings,
    // LayerNorm or biases), then `f16` on the original must equal `f32` on the copy bit for bit.
    let linear = /(attn\.in_proj_weight|attn\.out_proj\.weight|mlp\.c_fc\.weight|mlp\.c_proj\.weight|conv1\.weight|^visual\.proj|^text_projection)$/
    let folder = try rewrittenModel(ModelFixtures.openCLIPF32) { name, values in
        name.contains(linear) ? halfRounded(values) : values
    }
    defer { try? FileManager.default.removeItem(at: folder) }
    let half = try CLIPModel(directory: ModelFixtures.openCLIPF32, precision: .f16)
    #expect(half.precisionLabel == "f16")
    let roundedByHand = try CLIPModel(directory: folder, precision: .f32)
    let a = try embeddings(half)
    #expect(bits(a) == bits(try embeddings(roundedByHand)))
    // Not lossless, but close to the original weights' transformers embeddings.
    let expected = try ModelFixtures.expected(ModelFixtures.openCLIPF32)
    let reference = expected.imageEmbeddings + expected.textEmbeddings
    let worst = zip(a, reference).map { cosine($0, $1) }.min() ?? 0
    #expect(worst >= 0.999 && worst < 1, "worst cosine to f32 \(worst)")
}

@Test(arguments: [ModelFixtures.huggingFaceF16, ModelFixtures.openCLIPF32])
func int8StaysCloseToF32(directory: URL) throws {
    try #require(packedLinearAvailable, "this CPU has no AVX2+FMA: int8 weights are not used")
    let int8 = try CLIPModel(directory: directory, precision: .int8)
    #expect(int8.precisionLabel == "int8")
    let single = try CLIPModel(directory: directory, precision: .f32)
    let a = try embeddings(int8), b = try embeddings(single)
    let cosines = zip(a, b).map { cosine($0, $1) }
    let worst = cosines.min() ?? 0, mean = cosines.reduce(0, +) / Float(cosines.count)
    // Measured here: see bench/results/engine-2026-12-01.md; the bound leaves room for nothing else
    // (a wrong scale, a dropped k pair or a saturated sum falls far below it).
    #expect(worst >= 0.995 && worst < 1, "\(directory.lastPathComponent): min cosine \(worst), mean \(mean)")
    #expect(bits(a) != bits(b))
}
