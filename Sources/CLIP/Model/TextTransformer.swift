// The text tower: `CLIPTextEmbeddings` + `CLIPTextTransformer` + `text_projection` in
// https://github.com/huggingface/transformers/blob/main/src/transformers/models/clip/modeling_clip.py
import NeuralOps

struct TextTransformer: Sendable {
    let config: CLIPTextConfig
    let weights: TextWeights
    let encoder: TransformerEncoder
    let projectionDim: Int

    init(config: CLIPTextConfig, weights: TextWeights, projectionDim: Int) {
        self.config = config
        self.weights = weights
        self.projectionDim = projectionDim
        encoder = TransformerEncoder(layers: weights.layers, tower: config.tower)
    }

    /// The position whose hidden state is pooled, by transformers' rule: the first `eos_token_id`;
    /// for legacy configs with `eos_token_id == 2`, the first position of the largest id (argmax).
    /// With no EOS at all, argmax over all-false picks position 0, as in transformers.
    func poolingIndex(_ ids: [Int32]) -> Int {
        if config.eosTokenId == 2 {
            var best = 0
            for (i, id) in ids.enumerated() where id > ids[best] { best = i }
            return best
        }
        return ids.firstIndex(of: Int32(truncatingIfNeeded: config.eosTokenId)) ?? 0
    }

    /// Token id lists (each ≤ maxPositionEmbeddings, ids < vocabSize) → (n, projectionDim), unit rows.
    func embed(tokenIds: [[Int32]]) -> [[Float]] {
        // Causal attention: positions after the pooled one never affect it, so each sequence runs over
        // 0...pool only. Sequences of equal run length are batched together.
        var groups: [Int: [Int]] = [:]   // run length → input indices
        for (i, ids) in tokenIds.enumerated() {
            precondition(!ids.isEmpty && ids.count <= config.maxPositionEmbeddings,
                         "TextTransformer: \(ids.count) token ids, expected 1...\(config.maxPositionEmbeddings)")
            precondition(ids.allSatisfy { $0 >= 0 && Int($0) < config.vocabSize },
                         "TextTransformer: token id outside 0..<\(config.vocabSize)")
            groups[poolingIndex(ids) + 1, default: []].append(i)
        }
        var result = [[Float]](repeating: [], count: tokenIds.count)
        for (length, members) in groups {
            let embeddings = embed(members.map { Array(tokenIds[$0].prefix(length)) }, length: length)
            for (member, embedding) in zip(members, embeddings) { result[member] = embedding }
        }
        return result
    }

    /// Sequences of exactly `length` ids, pooled at their last position.
    private func embed(_ sequences: [[Int32]], length seq: Int) -> [[Float]] {
        let batch = sequences.count, width = config.tower.hiddenSize, rows = batch * seq
        let workspace = Workspace(capacity:
            Workspace.rounded(rows * width)                 // x
            + Workspace.rounded(batch * width)              // pooled
            + Workspace.rounded(batch * projectionDim)      // projected
            + encoder.scratchCapacity(batch: batch, seq: seq))

        // MARK: Token + position embedding
        let x = workspace.region(rows * width)              // (batch·seq, width)
        let tokens = weights.tokenEmbedding.pointer, positions = weights.positionEmbedding.pointer
        for (b, ids) in sequences.enumerated() {
            for (t, id) in ids.enumerated() {
                let row = x + (b * seq + t) * width
                row.update(from: tokens + Int(id) * width, count: width)
                add(positions + t * width, into: row, count: width)
            }
        }

        // MARK: Encoder (causal attention)
        let pooled = workspace.region(batch * width)        // (batch, width)
        let projected = workspace.region(batch * projectionDim)
        encoder.forward(x, batch: batch, seq: seq, causal: true, workspace: workspace)

        // MARK: final_layer_norm on the pooled (last) row → text_projection → L2 normalize
        layerNorm(x + (seq - 1) * width, rows: batch, width: width, xStride: seq * width,
                  gamma: weights.finalLayerNormWeight, beta: weights.finalLayerNormBias,
                  eps: config.tower.layerNormEps, into: pooled)
        linear(pooled, rows: batch, weight: weights.projection, bias: nil, into: projected)
        return (0..<batch).map { b in
            let row = projected + b * projectionDim
            l2Normalize(row, count: projectionDim)
            return Array(UnsafeBufferPointer(start: row, count: projectionDim))
        }
    }
}
