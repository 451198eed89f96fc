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

    /// Sequences per forward pass (32 x 77 tokens: ~50 MB of scratch for ViT-B/32's text tower).
    static let maxChunk = 32

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
        // 0...pool only, and a shorter sequence can share a batch with longer ones, padded at its end
        // (the padding rows are computed and ignored). Groups: by length, longest first, a sequence
        // joins the current group while padding stays under a quarter of the group's rows, up to
        // `maxChunk` sequences per pass (bounded scratch memory).
        var runs: [(index: Int, length: Int)] = []
        for (i, ids) in tokenIds.enumerated() {
            precondition(!ids.isEmpty && ids.count <= config.maxPositionEmbeddings,
                         "TextTransformer: \(ids.count) token ids, expected 1...\(config.maxPositionEmbeddings)")
            precondition(ids.allSatisfy { $0 >= 0 && Int($0) < config.vocabSize },
                         "TextTransformer: token id outside 0..<\(config.vocabSize)")
            runs.append((i, poolingIndex(ids) + 1))
        }
        runs.sort { ($0.length, $1.index) > ($1.length, $0.index) }
        var result = [[Float]](repeating: [], count: tokenIds.count)
        var start = 0
        while start < runs.count {
            let padded = runs[start].length
            var end = start + 1, used = padded
            while end < runs.count, end - start < Self.maxChunk,
                  4 * (used + runs[end].length) >= 3 * padded * (end - start + 1) {
                used += runs[end].length
                end += 1
            }
            let group = runs[start..<end]
            let embeddings = embed(group.map { Array(tokenIds[$0.index].prefix($0.length)) }, length: padded)
            for (run, embedding) in zip(group, embeddings) { result[run.index] = embedding }
            start = end
        }
        return result
    }

    /// Sequences of at most `length` ids, each pooled at its own last id; shorter ones are padded
    /// with their last id (causal attention keeps padding out of every earlier row).
    private func embed(_ sequences: [[Int32]], length seq: Int) -> [[Float]] {
        let batch = sequences.count, width = config.tower.hiddenSize
        let capacity = Workspace.rounded(batch * seq * width)   // x
            + Workspace.rounded(batch * width)                  // pooled
            + Workspace.rounded(batch * projectionDim)          // projected
            + encoder.scratchCapacity(batch: batch, seq: seq)
        return Workspace.borrow(capacity: capacity) { embed(sequences, length: seq, workspace: $0) }
    }

    private func embed(_ sequences: [[Int32]], length seq: Int, workspace: Workspace) -> [[Float]] {
        let batch = sequences.count, width = config.tower.hiddenSize, rows = batch * seq

        // MARK: Token + position embedding
        let x = workspace.region(rows * width)              // (batch·seq, width)
        let positions = weights.positionEmbedding.pointer
        for (b, ids) in sequences.enumerated() {
            for t in 0..<seq {
                let row = x + (b * seq + t) * width
                weights.tokenEmbedding.copyRow(Int(ids[min(t, ids.count - 1)]), into: row)
                add(positions + t * width, into: row, count: width)
            }
        }

    // MARK: Encoder (causal attention)
        let pooled = workspace.region(batch * width)        // (batch, width)
        let projected = workspace.region(batch * projectionDim)
        encoder.forward(x, batch: batch, seq: seq, causal: true, workspace: workspace)

        // MARK: final_layer_norm on each pooled row → text_projection → L2 normalize
        for (b, ids) in sequences.enumerated() {
            layerNorm(x + (b * seq + ids.count - 1) * width, rows: 1, width: width,
                      gamma: weights.finalLayerNormWeight, beta: weights.finalLayerNormBias,
                      eps: config.tower.layerNormEps, into: pooled + b * width)
        }
        linear(pooled, rows: batch, weight: weights.projection, bias: nil, into: projected)
        return (0..<batch).map { b in
            let row = projected + b * projectionDim
            l2Normalize(row, count: projectionDim)
            return Array(UnsafeBufferPointer(start: row, count: projectionDim))
        }
    }
}
