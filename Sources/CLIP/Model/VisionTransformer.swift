// The image tower: `CLIPVisionEmbeddings` + `CLIPVisionTransformer` + `visual_projection` in
// https://github.com/huggingface/transformers/blob/main/src/transformers/models/clip/modeling_clip.py
import NeuralOps

struct VisionTransformer: Sendable {
    let config: CLIPVisionConfig
    let weights: VisionWeights
    let encoder: TransformerEncoder
    let projectionDim: Int

    init(config: CLIPVisionConfig, weights: VisionWeights, projectionDim: Int) {
        self.config = config
        self.weights = weights
        self.projectionDim = projectionDim
        encoder = TransformerEncoder(layers: weights.layers, tower: config.tower)
    }

    /// Images per forward pass: larger batches run in chunks, which bounds the scratch memory
    /// (~70 MB for 32 ViT-B/32 images) without costing throughput.
    static let maxChunk = 32

    /// pixels: (batch, channels, imageSize, imageSize) normalized → (batch, projectionDim), unit rows.
    func embed(pixels: UnsafeBufferPointer<Float>, batch: Int) -> [[Float]] {
        let channels = config.numChannels, size = config.imageSize
        let perImage = channels * size * size
        precondition(pixels.count == batch * perImage,
                     "VisionTransformer: \(pixels.count) floats for \(batch) images of \(channels)x\(size)x\(size)")
        var result: [[Float]] = []
        result.reserveCapacity(batch)
        for start in stride(from: 0, to: batch, by: Self.maxChunk) {
            let count = min(Self.maxChunk, batch - start)
            let chunk = UnsafeBufferPointer(rebasing: pixels[start * perImage ..< (start + count) * perImage])
            result += embedChunk(pixels: chunk, batch: count)
        }
        return result
    }

    private func embedChunk(pixels: UnsafeBufferPointer<Float>, batch: Int) -> [[Float]] {
        let patchDim = config.numChannels * config.patchSize * config.patchSize
        let patchesPerImage = config.gridSize * config.gridSize, width = config.tower.hiddenSize
        let capacity = Workspace.rounded(batch * patchesPerImage * patchDim)   // patches
            + Workspace.rounded(batch * patchesPerImage * width)               // patch embeddings
            + Workspace.rounded(batch * config.numPositions * width)           // x
            + Workspace.rounded(batch * width)                                 // pooled
            + Workspace.rounded(batch * projectionDim)                         // projected
            + encoder.scratchCapacity(.dense(batch: batch, seq: config.numPositions, causal: false, read: 0))
        return Workspace.borrow(capacity: capacity) { embedChunk(pixels: pixels, batch: batch, workspace: $0) }
    }

    private func embedChunk(pixels: UnsafeBufferPointer<Float>, batch: Int, workspace: Workspace) -> [[Float]] {
        let channels = config.numChannels, size = config.imageSize, patch = config.patchSize
        let width = config.tower.hiddenSize, grid = config.gridSize, seq = config.numPositions
        let patchDim = channels * patch * patch, patchesPerImage = grid * grid
        let rows = batch * seq

        // MARK: Patch embedding: conv(kernel = stride = patch, no bias) as one GEMM
        // Row (b, gy, gx) holds the patch's pixels in the kernel's (channel, ky, kx) order.
        let patches = workspace.region(batch * patchesPerImage * patchDim)   // (batch·49, 3·32·32)
        let source = pixels.baseAddress!
        for b in 0..<batch {
            for gy in 0..<grid {
                for gx in 0..<grid {
                    let row = patches + ((b * grid + gy) * grid + gx) * patchDim
                    for c in 0..<channels {
                        for ky in 0..<patch {
                            let from = source + ((b * channels + c) * size + gy * patch + ky) * size + gx * patch
                            (row + (c * patch + ky) * patch).update(from: from, count: patch)
                        }
                    }
                }
            }
        }
        let embedded = workspace.region(batch * patchesPerImage * width)     // (batch·49, width)
        linear(patches, rows: batch * patchesPerImage, weight: weights.patchWeight, bias: nil, into: embedded)

        // MARK: [class; patches] + position embedding, then pre_layrnorm
        let x = workspace.region(rows * width)                               // (batch·50, width)
        let positions = weights.positionEmbedding.pointer
        for b in 0..<batch {
            let image = x + b * seq * width
            image.update(from: weights.classEmbedding.pointer, count: width)
            (image + width).update(from: embedded + b * patchesPerImage * width, count: patchesPerImage * width)
            add(positions, into: image, count: seq * width)
        }
        layerNorm(x, rows: rows, width: width, gamma: weights.preLayerNormWeight, beta: weights.preLayerNormBias,
                  eps: config.tower.layerNormEps, into: x)

        // MARK: Encoder (bidirectional attention)
        let pooled = workspace.region(batch * width)                         // (batch, width)
        let projected = workspace.region(batch * projectionDim)              // (batch, projection)
        encoder.forward(x, .dense(batch: batch, seq: seq, causal: false, read: 0), workspace: workspace)  // reads the class token

        // MARK: post_layernorm on the class token → visual_projection → L2 normalize
        layerNorm(x, rows: batch, width: width, xStride: seq * width,
                  gamma: weights.postLayerNormWeight, beta: weights.postLayerNormBias,
                  eps: config.tower.layerNormEps, into: pooled)
        linear(pooled, rows: batch, weight: weights.projection, bias: nil, into: projected)
        return (0..<batch).map { b in
            let row = projected + b * projectionDim
            l2Normalize(row, count: projectionDim)
            return Array(UnsafeBufferPointer(start: row, count: projectionDim))
        }
    }
}
