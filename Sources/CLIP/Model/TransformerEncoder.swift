// The stack of pre-LN residual blocks shared by both towers (`CLIPEncoder` / `CLIPEncoderLayer` in
// https://github.com/huggingface/transformers/blob/main/src/transformers/models/clip/modeling_clip.py).
import NeuralOps

struct TransformerEncoder: Sendable {
    let layers: [EncoderLayerWeights]
    let width: Int
    let heads: Int
    let mlpWidth: Int
    let eps: Float
    let activation: Activation

    init(layers: [EncoderLayerWeights], tower: TowerConfig) {
        self.layers = layers
        width = tower.hiddenSize
        heads = tower.numAttentionHeads
        mlpWidth = tower.intermediateSize
        eps = tower.layerNormEps
        activation = tower.hiddenAct
    }

    /// How a forward pass's rows form sequences, for attention.
    enum Rows {
        /// `batch` sequences of `seq` rows each, one after the other (attention causal or not).
        case dense(batch: Int, seq: Int, causal: Bool)
        /// Causal sequences sharing their common prefixes' rows (`SharedPrefixSequence`): `rows`
        /// rows in all.
        case sharedPrefixes([SharedPrefixSequence], rows: Int)

        var count: Int {
            switch self {
            case .dense(let batch, let seq, _): batch * seq
            case .sharedPrefixes(_, let rows): rows
            }
        }
    }

    /// Floats of workspace `forward` takes for these rows.
    func scratchCapacity(_ layout: Rows) -> Int {
        let rows = layout.count, headDim = width / heads
        let attention = switch layout {
        case .dense(let batch, let seq, _):
            Workspace.rounded(attentionScratchCount(batch: batch, heads: heads, seq: seq, headDim: headDim))
        case .sharedPrefixes(let sequences, _):
            Workspace.rounded(attentionScratchCount(batch: sequences.count, heads: heads,
                                                    seq: sequences.map(\.rows.count).max() ?? 0, headDim: headDim))
                + Workspace.rounded(sharedPrefixGatherCount(sequences, width: width))
        }
        return Workspace.rounded(rows * width)          // normed
            + Workspace.rounded(rows * 3 * width)       // qkv
            + Workspace.rounded(rows * width)           // attention output
            + Workspace.rounded(rows * mlpWidth)        // MLP hidden
            + attention                                 // scores (and gathered prefixes)
    }

    /// Runs every block over `x` (rows, width) in place.
    func forward(_ x: UnsafeMutablePointer<Float>, _ layout: Rows, workspace: Workspace) {
        let rows = layout.count, headDim = width / heads
        let normed = workspace.region(rows * width)       // (rows, width)
        let qkv = workspace.region(rows * 3 * width)      // (rows, 3·width): q | k | v
        let attended = workspace.region(rows * width)     // (rows, width)
        let hidden = workspace.region(rows * mlpWidth)    // (rows, mlp)
        let attend: (UnsafeMutablePointer<Float>) -> Void
        switch layout {
        case .dense(let batch, let seq, let causal):
            let scores = workspace.region(attentionScratchCount(batch: batch, heads: heads, seq: seq, headDim: headDim))
            attend = { [heads, width] qkv in
                multiHeadAttention(q: qkv, k: qkv + width, v: qkv + 2 * width, stride: 3 * width,
                                   batch: batch, seq: seq, heads: heads, headDim: headDim, causal: causal,
                                   scores: scores, into: attended)
            }
        case .sharedPrefixes(let sequences, _):
            let scores = workspace.region(attentionScratchCount(batch: sequences.count, heads: heads,
                                                                seq: sequences.map(\.rows.count).max() ?? 0, headDim: headDim))
            let gathered = workspace.region(sharedPrefixGatherCount(sequences, width: width))
            attend = { [heads] qkv in
                causalAttention(qkv: qkv, sequences: sequences, heads: heads, headDim: headDim,
                                gathered: gathered, scores: scores, into: attended)
            }
        }

        for layer in layers {
            // MARK: x + attn(ln_1(x))
            layerNorm(x, rows: rows, width: width, gamma: layer.layerNorm1Weight, beta: layer.layerNorm1Bias,
                      eps: eps, into: normed)
            linear(normed, rows: rows, weight: layer.qkvWeight, bias: layer.qkvBias, into: qkv)
            attend(qkv)
            linear(attended, rows: rows, weight: layer.outWeight, bias: layer.outBias, into: x, accumulate: true)

            // MARK: x + mlp(ln_2(x))
            layerNorm(x, rows: rows, width: width, gamma: layer.layerNorm2Weight, beta: layer.layerNorm2Bias,
                      eps: eps, into: normed)
            linear(normed, rows: rows, weight: layer.fc1Weight, bias: layer.fc1Bias, into: hidden,
                   activation: activation)
            linear(hidden, rows: rows, weight: layer.fc2Weight, bias: layer.fc2Bias, into: x, accumulate: true)
        }
    }
}
