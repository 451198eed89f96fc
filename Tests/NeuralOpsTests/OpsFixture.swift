import Foundation

/// The PyTorch-computed cases in Fixtures/ops.json (made by tools/make_neuralops_expected.py).
struct OpsFixture: Decodable {
    struct Linear: Decodable { let x, w: [Float]?; let b, y: [Float]; let rows, `in`, out: Int }
    struct LayerNorm: Decodable { let x, gamma, beta, y: [Float]; let rows, width: Int; let eps: Float }
    struct Activations: Decodable {
        let x, gelu: [Float]
        let quickGELU: [Float]
        enum CodingKeys: String, CodingKey { case x, gelu, quickGELU = "quick_gelu" }
    }
    struct Softmax: Decodable { let x, y: [Float]; let rows, cols: Int }
    struct Attention: Decodable { let qkv, y: [Float]; let batch, seq, heads, headDim: Int }

    let linear: Linear
    let linearManyRows: Linear
    let layerNorm: LayerNorm
    let activations: Activations
    let softmax: Softmax
    let attention: Attention
    let attentionCausal: Attention

    enum CodingKeys: String, CodingKey {
        case linear, layerNorm, activations, softmax, attention
        case linearManyRows = "linear_many_rows"
        case attentionCausal = "attention_causal"
    }

    static func load() throws -> OpsFixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/ops.json")
        return try JSONDecoder().decode(OpsFixture.self, from: Data(contentsOf: url))
    }
}

/// Largest |a - b| / (1 + |b|) over two equally long arrays (mixed absolute/relative error).
func maxError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "maxError: \(a.count) vs \(b.count) values")
    return zip(a, b).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0
}
