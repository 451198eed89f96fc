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

    /// Floats of workspace `forward` takes for `batch` sequences of `seq` tokens.
    func scratchCapacity(batch: Int, seq: Int) -> Int {
        let rows = batch * seq
        return Workspace.rounded(rows * width)          // normed
            + Workspace.rounded(rows * 3 * width)       // qkv
            + Workspace.rounded(rows * width)           // attention output
            + Workspace.rounded(rows * mlpWidth)        // MLP hidden
            + Workspace.rounded(attentionScratchCount(batch: batch, heads: heads, seq: seq, headDim: width / heads))  // scores
    }

    /// Runs every block over `x` (batch·seq, width) in place.
    func forward(_ x: UnsafeMutablePointer<Float>, batch: Int, seq: Int, causal: Bool, workspace: Workspace) {
        let rows = batch * seq
        let normed = workspace.region(rows * width)       // (rows, width)
        let qkv = workspace.region(rows * 3 * width)      // (rows, 3·width): q | k | v
        let attended = workspace.region(rows * width)     // (rows, width)
        let hidden = workspace.region(rows * mlpWidth)    // (rows, mlp)
        let scores = workspace.region(attentionScratchCount(batch: batch, heads: heads, seq: seq,
                                                            headDim: width / heads))  // (seq, seq) and more per worker

        for layer in layers {
            // MARK: x + attn(ln_1(x))
            layerNorm(x, rows: rows, width: width, gamma: layer.layerNorm1Weight, beta: layer.layerNorm1Bias,
                      eps: eps, into: normed)
            linear(normed, rows: rows, weight: layer.qkvWeight, bias: layer.qkvBias, into: qkv)
            multiHeadAttention(q: qkv, k: qkv + width, v: qkv + 2 * width, stride: 3 * width,
                               batch: batch, seq: seq, heads: heads, headDim: width / heads, causal: causal,
                               scores: scores, into: attended)
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
