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

    /// How a forward pass's rows form sequences, for attention, and which rows the tower reads
    /// after it (one per sequence).
    enum Rows {
        /// `batch` sequences of `seq` rows each, one after the other (attention causal or not);
        /// the tower reads position `read` of each (ViT's class token).
        case dense(batch: Int, seq: Int, causal: Bool, read: Int)
        /// Causal sequences sharing their common prefixes' rows (`SharedPrefixSequence`): `rows`
        /// rows in all; the tower reads the rows at these (sequence, position)s.
        case sharedPrefixes([SharedPrefixSequence], rows: Int, read: [(sequence: Int, position: Int)])

        var count: Int {
            switch self {
            case .dense(let batch, let seq, _, _): batch * seq
            case .sharedPrefixes(_, let rows, _): rows
            }
        }

        /// The rows read after the last block.
        var read: [Int] {
            switch self {
            case .dense(let batch, let seq, _, let read): (0..<batch).map { $0 * seq + read }
            case .sharedPrefixes(let sequences, _, let read): read.map { sequences[$0.sequence].rows[$0.position] }
            }
        }
    }

    /// Floats of workspace `forward` takes for these rows.
    func scratchCapacity(_ layout: Rows) -> Int {
        let rows = layout.count, headDim = width / heads
        let attention = switch layout {
        case .dense(let batch, let seq, _, _):
            Workspace.rounded(attentionScratchCount(batch: batch, heads: heads, seq: seq, headDim: headDim))
        case .sharedPrefixes(let sequences, _, _):
            Workspace.rounded(attentionScratchCount(batch: sequences.count, heads: heads,
                                                    seq: sequences.map(\.rows.count).max() ?? 0, headDim: headDim))
                + Workspace.rounded(sharedPrefixGatherCount(sequences, width: width))
        }
        return Workspace.rounded(rows * width)          // normed
            + Workspace.rounded(rows * 3 * width)       // qkv
            + Workspace.rounded(rows * width)           // attention output
            + Workspace.rounded(rows * mlpWidth)        // MLP hidden
            + Workspace.rounded(layout.read.count * width)  // the last block's rows read
            + attention                                 // scores (and gathered prefixes)
    }

    /// Runs every block over `x` (rows, width) in place; the last block only for the rows read
    /// after it (`Rows.read`), the others' final values are not computed. A row's arithmetic does not
    /// depend on the rows beside it, so those rows get the bits a full last block gives them: ViT's
    /// last block then costs its 50 rows' QKV and one row's rest, 6% of the tower's multiply-adds.
    func forward(_ x: UnsafeMutablePointer<Float>, _ layout: Rows, workspace: Workspace) {
        let rows = layout.count, headDim = width / heads, read = layout.read
        let normed = workspace.region(rows * width)       // (rows, width)
        let qkv = workspace.region(rows * 3 * width)      // (rows, 3·width): q | k | v
        let attended = workspace.region(rows * width)     // (rows, width)
        let hidden = workspace.region(rows * mlpWidth)    // (rows, mlp)
        let lastRows = workspace.region(read.count * width)  // (read, width): the last block's residual rows
        // attend(qkv, onlyRead): attention into `attended`, for every row, or only the rows read (in their order).
        let attend: (UnsafeMutablePointer<Float>, Bool) -> Void
        switch layout {
        case .dense(let batch, let seq, let causal, let position):
            let scores = workspace.region(attentionScratchCount(batch: batch, heads: heads, seq: seq, headDim: headDim))
            attend = { [heads, width] qkv, onlyRead in
                multiHeadAttention(q: qkv, k: qkv + width, v: qkv + 2 * width, stride: 3 * width,
                                   batch: batch, seq: seq, heads: heads, headDim: headDim, causal: causal,
                                   onlyPosition: onlyRead ? position : nil, scores: scores, into: attended)
            }
        case .sharedPrefixes(let sequences, _, let read):
            let scores = workspace.region(attentionScratchCount(batch: sequences.count, heads: heads,
                                                                seq: sequences.map(\.rows.count).max() ?? 0, headDim: headDim))
            let gathered = workspace.region(sharedPrefixGatherCount(sequences, width: width))
            attend = { [heads] qkv, onlyRead in
                causalAttention(qkv: qkv, sequences: sequences, heads: heads, headDim: headDim, only: onlyRead ? read : nil,
                                gathered: gathered, scores: scores, into: attended)
            }
        }

        for (index, layer) in layers.enumerated() {
            // MARK: x + attn(ln_1(x)): every row's K and V, also in the last block
            layerNorm(x, rows: rows, width: width, gamma: layer.layerNorm1Weight, beta: layer.layerNorm1Bias,
                      eps: eps, into: normed)
            linear(normed, rows: rows, weight: layer.qkvWeight, bias: layer.qkvBias, into: qkv)
            guard index == layers.count - 1 else {
                attend(qkv, false)
                linear(attended, rows: rows, weight: layer.outWeight, bias: layer.outBias, into: x, accumulate: true)
                mlp(x, rows: rows, layer, normed: normed, hidden: hidden)
                continue
            }
            // MARK: The last block, for the rows read only
            attend(qkv, true)
            for (i, row) in read.enumerated() { (lastRows + i * width).update(from: x + row * width, count: width) }
            linear(attended, rows: read.count, weight: layer.outWeight, bias: layer.outBias, into: lastRows, accumulate: true)
            mlp(lastRows, rows: read.count, layer, normed: normed, hidden: hidden)
            for (i, row) in read.enumerated() { (x + row * width).update(from: lastRows + i * width, count: width) }
        }
    }

    /// x + mlp(ln_2(x)) over `rows` rows of x in place.
    private func mlp(_ x: UnsafeMutablePointer<Float>, rows: Int, _ layer: EncoderLayerWeights,
                     normed: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>) {
        layerNorm(x, rows: rows, width: width, gamma: layer.layerNorm2Weight, beta: layer.layerNorm2Bias,
                  eps: eps, into: normed)
        linear(normed, rows: rows, weight: layer.fc1Weight, bias: layer.fc1Bias, into: hidden, activation: activation)
        linear(hidden, rows: rows, weight: layer.fc2Weight, bias: layer.fc2Bias, into: x, accumulate: true)
    }
}
