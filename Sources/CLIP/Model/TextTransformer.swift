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

    /// Positions per forward pass, counted over every sequence's whole length (so the rows and the
    /// shared paths' copies for attention stay within 32 x 77 tokens' scratch, ~50 MB for ViT-B/32's
    /// text tower however much the sequences share), and sequences per pass.
    static let maxChunkRows = 32 * 77
    static let maxChunkSequences = 256

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
        // 0...pool only; and a position's activations depend only on the ids up to it, so sequences
        // that start alike (every one starts with <|startoftext|>; concurrent queries often with "a
        // photo of") compute those positions once (`PrefixTree`). Sorted, so that alike sequences land
        // in the same pass when a batch takes several.
        var sequences: [(index: Int, ids: ArraySlice<Int32>)] = []
        for (i, ids) in tokenIds.enumerated() {
            precondition(!ids.isEmpty && ids.count <= config.maxPositionEmbeddings,
                         "TextTransformer: \(ids.count) token ids, expected 1...\(config.maxPositionEmbeddings)")
            precondition(ids.allSatisfy { $0 >= 0 && Int($0) < config.vocabSize },
                         "TextTransformer: token id outside 0..<\(config.vocabSize)")
            sequences.append((i, ids[...poolingIndex(ids)]))
        }
        sequences.sort { $0.ids.lexicographicallyPrecedes($1.ids) || ($0.ids == $1.ids && $0.index < $1.index) }
        var result = [[Float]](repeating: [], count: tokenIds.count)
        var start = 0
        while start < sequences.count {
            var tree = PrefixTree()
            var end = start, positions = 0
            while end < sequences.count, end - start < Self.maxChunkSequences,
                  end == start || positions + sequences[end].ids.count <= Self.maxChunkRows {
                tree.add(sequences[end].ids)
                positions += sequences[end].ids.count
                end += 1
            }
            for (sequence, embedding) in zip(sequences[start..<end], embed(tree)) { result[sequence.index] = embedding }
            start = end
        }
        return result
    }

    /// The embeddings of `tree`'s sequences, in the order they were added.
    private func embed(_ tree: PrefixTree) -> [[Float]] {
        let width = config.tower.hiddenSize
        let layout = TransformerEncoder.Rows.sharedPrefixes(tree.shared, rows: tree.rows, read: tree.pooledPositions)
        let capacity = Workspace.rounded(tree.rows * width)          // x
            + Workspace.rounded(tree.pooled.count * width)           // pooled
            + Workspace.rounded(tree.pooled.count * projectionDim)   // projected
            + encoder.scratchCapacity(layout)
        return Workspace.borrow(capacity: capacity) { embed(tree, layout, workspace: $0) }
    }

    private func embed(_ tree: PrefixTree, _ layout: TransformerEncoder.Rows, workspace: Workspace) -> [[Float]] {
        let width = config.tower.hiddenSize, batch = tree.pooled.count

        // MARK: Token + position embedding
        let x = workspace.region(tree.rows * width)         // (rows, width): one row per tree node
        let positions = weights.positionEmbedding.pointer
        for row in 0..<tree.rows {
            weights.tokenEmbedding.copyRow(Int(tree.tokens[row]), into: x + row * width)
            add(positions + tree.positions[row] * width, into: x + row * width, count: width)
        }

        // MARK: Encoder (causal attention)
        let pooled = workspace.region(batch * width)        // (batch, width)
        let projected = workspace.region(batch * projectionDim)
        encoder.forward(x, layout, workspace: workspace)

        // MARK: final_layer_norm on each pooled row → text_projection → L2 normalize
        for (b, row) in tree.pooled.enumerated() {
            layerNorm(x + row * width, rows: 1, width: width,
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

/// Token sequences with their common prefixes stored once: a row per distinct (prefix, next id),
/// as a trie. Under causal attention a row's activations depend only on the ids up to it, so a
/// sequence reads its shared prefix's rows and computes only the rows after it, and each sequence's
/// embedding is the one it gets alone, bit for bit (each row's arithmetic is the same).
struct PrefixTree {
    /// Each row's token id and position.
    private(set) var tokens: [Int32] = []
    private(set) var positions: [Int] = []
    /// The sequences with rows of their own (an exact repeat has none), for attention.
    private(set) var shared: [SharedPrefixSequence] = []
    /// Each added sequence's last row, the one it is pooled at.
    private(set) var pooled: [Int] = []
    /// Which sequence of `shared` made each row, at which position.
    private var maker: [(sequence: Int, position: Int)] = []
    /// (parent row + 1, id) → row; the parent of position 0 is -1.
    private var children: [Int64: Int] = [:]

    var rows: Int { tokens.count }

    /// The pooled rows, each once, as (sequence of `shared`, position).
    var pooledPositions: [(sequence: Int, position: Int)] {
        var seen = Set<Int>()
        return pooled.filter { seen.insert($0).inserted }.map { maker[$0] }
    }

    private static func key(parent: Int, id: Int32) -> Int64 { Int64(parent + 1) << 32 | Int64(UInt32(bitPattern: id)) }

    mutating func add(_ ids: ArraySlice<Int32>) {
        var path: [Int] = []
        var firstOwn: Int?
        var parent = -1
        for (position, id) in ids.enumerated() {
            let key = Self.key(parent: parent, id: id)
            if firstOwn == nil, let row = children[key] {
                parent = row
            } else {
                firstOwn = firstOwn ?? position
                parent = tokens.count
                children[key] = parent
                tokens.append(id)
                positions.append(position)
                maker.append((shared.count, position))
            }
            path.append(parent)
        }
        pooled.append(path[path.count - 1])
        if let firstOwn { shared.append(SharedPrefixSequence(rows: path, firstOwn: firstOwn)) }
    }
}
