// open_clip / OpenAI checkpoints carry no config.json: their sizes are read off the tensor shapes,
// with OpenAI's conventions for what shapes cannot tell (https://github.com/openai/CLIP/blob/main/clip/model.py,
// `build_model`): 64-wide attention heads, QuickGELU, LayerNorm eps 1e-5, `<|endoftext|>` = 49407.
// A config.json next to the weights (Hugging Face format) overrides all of this, e.g. for GELU models.

extension CLIPConfig {
    init(inferringFrom file: SafeTensorsFile) throws(CLIPError) {
        func shape(_ name: String, rank: Int) throws(CLIPError) -> [Int] {
            guard let info = file.tensors[name] else { throw .missingTensor(name) }
            guard info.shape.count == rank, info.shape.allSatisfy({ $0 > 0 }) else {
                throw .tensorShapeMismatch(tensor: name, expected: [Int](repeating: -1, count: rank), actual: info.shape)
            }
            return info.shape
        }
        func layerCount(_ prefix: String) -> Int {
            var n = 0
            while file.tensors["\(prefix)transformer.resblocks.\(n).attn.in_proj_weight"] != nil { n += 1 }
            return n
        }
        func tower(_ prefix: String, width: Int) throws(CLIPError) -> TowerConfig {
            let mlp = try shape("\(prefix)transformer.resblocks.0.mlp.c_fc.weight", rank: 2)[0]
            return TowerConfig(hiddenSize: width, intermediateSize: mlp, numAttentionHeads: max(width / 64, 1),
                               numHiddenLayers: layerCount(prefix), hiddenAct: .quickGELU, layerNormEps: 1e-5)
        }

        let conv = try shape("visual.conv1.weight", rank: 4)           // (width, channels, patch, patch)
        let visualPositions = try shape("visual.positional_embedding", rank: 2)[0]
        let grid = Int(Double(visualPositions - 1).squareRoot().rounded())
        guard grid * grid + 1 == visualPositions else {
            throw .tensorShapeMismatch(tensor: "visual.positional_embedding",
                                       expected: [grid * grid + 1, conv[0]], actual: file.tensors["visual.positional_embedding"]!.shape)
        }
        let token = try shape("token_embedding.weight", rank: 2)        // (vocab, width)
        let textPositions = try shape("positional_embedding", rank: 2)[0]
        let projection = try shape("text_projection", rank: 2)[1]       // (width, projection)

        self.init(
            text: CLIPTextConfig(tower: try tower("", width: token[1]), vocabSize: token[0],
                                 maxPositionEmbeddings: textPositions, eosTokenId: 49407),
            vision: CLIPVisionConfig(tower: try tower("visual.", width: conv[0]), imageSize: grid * conv[2],
                                     patchSize: conv[2], numChannels: conv[1]),
            projectionDim: projection, logitScaleInitValue: CLIPConfig.base.logitScaleInitValue)
        try validate(path: file.path)
    }
}
