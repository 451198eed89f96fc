// The model's tensors in one canonical layout (PyTorch's (out, in) for every linear weight, q/k/v
// fused), read from either key naming:
// - Hugging Face (`vision_model.encoder.layers.N.self_attn.q_proj.weight`, ...), as in transformers'
//   modeling_clip.py: https://github.com/huggingface/transformers/blob/main/src/transformers/models/clip/modeling_clip.py
// - OpenAI / open_clip (`visual.transformer.resblocks.N.attn.in_proj_weight`, ...), as in
//   https://github.com/openai/CLIP/blob/main/clip/model.py
// Every tensor is checked by name and shape against the config before it is converted to Float.
// Linear weights stay (out, in) tensors here (`pack: false`): CLIPModel packs each tower's in the
// precision it chooses once it has seen them all (TowerPrecision.swift).
import NeuralOps

/// One pre-LN residual block: `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))`.
struct EncoderLayerWeights: Sendable {
    let layerNorm1Weight, layerNorm1Bias: Tensor  // (width)
    let qkvWeight: LinearWeight                    // (3·width, width): q, k, v rows
    let qkvBias: Tensor                            // (3·width)
    let outWeight: LinearWeight                    // (width, width)
    let outBias: Tensor                            // (width)
    let layerNorm2Weight, layerNorm2Bias: Tensor  // (width)
    let fc1Weight: LinearWeight                    // (mlp, width)
    let fc1Bias: Tensor                            // (mlp)
    let fc2Weight: LinearWeight                    // (width, mlp)
    let fc2Bias: Tensor                            // (width)
}

struct VisionWeights: Sendable {
    let patchWeight: LinearWeight   // (width, channels·patch·patch): the conv kernel, flattened
    let classEmbedding: Tensor      // (width)
    let positionEmbedding: Tensor   // (positions, width)
    let preLayerNormWeight, preLayerNormBias: Tensor
    let layers: [EncoderLayerWeights]
    let postLayerNormWeight, postLayerNormBias: Tensor
    let projection: LinearWeight    // (projection, width)
}

struct TextWeights: Sendable {
    let tokenEmbedding: EmbeddingTable  // (vocab, width)
    let positionEmbedding: Tensor   // (positions, width)
    let layers: [EncoderLayerWeights]
    let finalLayerNormWeight, finalLayerNormBias: Tensor
    let projection: LinearWeight    // (projection, width)
}

struct CLIPWeights: Sendable {
    let vision: VisionWeights
    let text: TextWeights
    /// The raw `logit_scale` parameter (its exp() multiplies cosine similarities).
    let logitScale: Float
}

/// Which key naming a checkpoint uses.
enum WeightNaming: Sendable {
    case huggingFace
    case openCLIP

    /// Detects the naming from the patch-embedding key.
    static func detect(in file: SafeTensorsFile) throws(CLIPError) -> WeightNaming {
        if file.tensors["vision_model.embeddings.patch_embedding.weight"] != nil { return .huggingFace }
        if file.tensors["visual.conv1.weight"] != nil { return .openCLIP }
        throw .missingTensor("vision_model.embeddings.patch_embedding.weight (or open_clip's visual.conv1.weight)")
    }
}

extension CLIPWeights {
    init(file: SafeTensorsFile, naming: WeightNaming, config: CLIPConfig) throws(CLIPError) {
        switch naming {
        case .huggingFace: try self.init(huggingFace: file, config: config)
        case .openCLIP: try self.init(openCLIP: file, config: config)
        }
    }

    // MARK: - Hugging Face names

    private init(huggingFace file: SafeTensorsFile, config: CLIPConfig) throws(CLIPError) {
        let v = config.vision, t = config.text
        let vw = v.tower.hiddenSize, tw = t.tower.hiddenSize, p = config.projectionDim
        let patchDim = v.numChannels * v.patchSize * v.patchSize

        func layers(_ prefix: String, _ tower: TowerConfig) throws(CLIPError) -> [EncoderLayerWeights] {
            let w = tower.hiddenSize, m = tower.intermediateSize
            var result: [EncoderLayerWeights] = []
            for n in 0..<tower.numHiddenLayers {
                let l = "\(prefix).encoder.layers.\(n)"
                let q = try file.load("\(l).self_attn.q_proj.weight", shape: [w, w])
                let k = try file.load("\(l).self_attn.k_proj.weight", shape: [w, w])
                let vv = try file.load("\(l).self_attn.v_proj.weight", shape: [w, w])
                let qb = try file.load("\(l).self_attn.q_proj.bias", shape: [w])
                let kb = try file.load("\(l).self_attn.k_proj.bias", shape: [w])
                let vb = try file.load("\(l).self_attn.v_proj.bias", shape: [w])
                result.append(EncoderLayerWeights(
                    layerNorm1Weight: try file.load("\(l).layer_norm1.weight", shape: [w]),
                    layerNorm1Bias: try file.load("\(l).layer_norm1.bias", shape: [w]),
                    qkvWeight: LinearWeight(concatenateRows([q, k, vv], shape: [3 * w, w]), pack: false),
                    qkvBias: concatenateRows([qb, kb, vb], shape: [3 * w]),
                    outWeight: LinearWeight(try file.load("\(l).self_attn.out_proj.weight", shape: [w, w]), pack: false),
                    outBias: try file.load("\(l).self_attn.out_proj.bias", shape: [w]),
                    layerNorm2Weight: try file.load("\(l).layer_norm2.weight", shape: [w]),
                    layerNorm2Bias: try file.load("\(l).layer_norm2.bias", shape: [w]),
                    fc1Weight: LinearWeight(try file.load("\(l).mlp.fc1.weight", shape: [m, w]), pack: false),
                    fc1Bias: try file.load("\(l).mlp.fc1.bias", shape: [m]),
                    fc2Weight: LinearWeight(try file.load("\(l).mlp.fc2.weight", shape: [w, m]), pack: false),
                    fc2Bias: try file.load("\(l).mlp.fc2.bias", shape: [w])))
            }
            return result
        }

        let patch = try file.load("vision_model.embeddings.patch_embedding.weight",
                                  shape: [vw, v.numChannels, v.patchSize, v.patchSize])
        vision = VisionWeights(
            patchWeight: LinearWeight(reshaped(patch, [vw, patchDim]), pack: false),
            classEmbedding: try file.load("vision_model.embeddings.class_embedding", shape: [vw]),
            positionEmbedding: try file.load("vision_model.embeddings.position_embedding.weight", shape: [v.numPositions, vw]),
            preLayerNormWeight: try file.load("vision_model.pre_layrnorm.weight", shape: [vw]),
            preLayerNormBias: try file.load("vision_model.pre_layrnorm.bias", shape: [vw]),
            layers: try layers("vision_model", v.tower),
            postLayerNormWeight: try file.load("vision_model.post_layernorm.weight", shape: [vw]),
            postLayerNormBias: try file.load("vision_model.post_layernorm.bias", shape: [vw]),
            projection: LinearWeight(try file.load("visual_projection.weight", shape: [p, vw]), pack: false))
        text = TextWeights(
            tokenEmbedding: EmbeddingTable(try file.load("text_model.embeddings.token_embedding.weight", shape: [t.vocabSize, tw])),
            positionEmbedding: try file.load("text_model.embeddings.position_embedding.weight",
                                             shape: [t.maxPositionEmbeddings, tw]),
            layers: try layers("text_model", t.tower),
            finalLayerNormWeight: try file.load("text_model.final_layer_norm.weight", shape: [tw]),
            finalLayerNormBias: try file.load("text_model.final_layer_norm.bias", shape: [tw]),
            projection: LinearWeight(try file.load("text_projection.weight", shape: [p, tw]), pack: false))
        logitScale = try scalar(file, "logit_scale")
    }

    // MARK: - OpenAI / open_clip names

    private init(openCLIP file: SafeTensorsFile, config: CLIPConfig) throws(CLIPError) {
        let v = config.vision, t = config.text
        let vw = v.tower.hiddenSize, tw = t.tower.hiddenSize, p = config.projectionDim
        let patchDim = v.numChannels * v.patchSize * v.patchSize

        func layers(_ prefix: String, _ tower: TowerConfig) throws(CLIPError) -> [EncoderLayerWeights] {
            let w = tower.hiddenSize, m = tower.intermediateSize
            var result: [EncoderLayerWeights] = []
            for n in 0..<tower.numHiddenLayers {
                let l = "\(prefix)transformer.resblocks.\(n)"
                result.append(EncoderLayerWeights(
                    layerNorm1Weight: try file.load("\(l).ln_1.weight", shape: [w]),
                    layerNorm1Bias: try file.load("\(l).ln_1.bias", shape: [w]),
                    // in_proj_weight is q, k, v stacked by rows: already the fused layout.
                    qkvWeight: LinearWeight(try file.load("\(l).attn.in_proj_weight", shape: [3 * w, w]), pack: false),
                    qkvBias: try file.load("\(l).attn.in_proj_bias", shape: [3 * w]),
                    outWeight: LinearWeight(try file.load("\(l).attn.out_proj.weight", shape: [w, w]), pack: false),
                    outBias: try file.load("\(l).attn.out_proj.bias", shape: [w]),
                    layerNorm2Weight: try file.load("\(l).ln_2.weight", shape: [w]),
                    layerNorm2Bias: try file.load("\(l).ln_2.bias", shape: [w]),
                    fc1Weight: LinearWeight(try file.load("\(l).mlp.c_fc.weight", shape: [m, w]), pack: false),
                    fc1Bias: try file.load("\(l).mlp.c_fc.bias", shape: [m]),
                    fc2Weight: LinearWeight(try file.load("\(l).mlp.c_proj.weight", shape: [w, m]), pack: false),
                    fc2Bias: try file.load("\(l).mlp.c_proj.bias", shape: [w])))
            }
            return result
        }

        let patch = try file.load("visual.conv1.weight", shape: [vw, v.numChannels, v.patchSize, v.patchSize])
        vision = VisionWeights(
            patchWeight: LinearWeight(reshaped(patch, [vw, patchDim]), pack: false),
            classEmbedding: try file.load("visual.class_embedding", shape: [vw]),
            positionEmbedding: try file.load("visual.positional_embedding", shape: [v.numPositions, vw]),
            preLayerNormWeight: try file.load("visual.ln_pre.weight", shape: [vw]),
            preLayerNormBias: try file.load("visual.ln_pre.bias", shape: [vw]),
            layers: try layers("visual.", v.tower),
            postLayerNormWeight: try file.load("visual.ln_post.weight", shape: [vw]),
            postLayerNormBias: try file.load("visual.ln_post.bias", shape: [vw]),
            // `x @ proj` with proj (width, projection): transpose to the (out, in) layout.
            projection: LinearWeight(transposed(try file.load("visual.proj", shape: [vw, p])), pack: false))
        text = TextWeights(
            tokenEmbedding: EmbeddingTable(try file.load("token_embedding.weight", shape: [t.vocabSize, tw])),
            positionEmbedding: try file.load("positional_embedding", shape: [t.maxPositionEmbeddings, tw]),
            layers: try layers("", t.tower),
            finalLayerNormWeight: try file.load("ln_final.weight", shape: [tw]),
            finalLayerNormBias: try file.load("ln_final.bias", shape: [tw]),
            projection: LinearWeight(transposed(try file.load("text_projection", shape: [tw, p])), pack: false))
        logitScale = try scalar(file, "logit_scale")
    }
}

// MARK: - Helpers

/// A one-element tensor (shape [] or [1]) as a Float.
private func scalar(_ file: SafeTensorsFile, _ name: String) throws(CLIPError) -> Float {
    let tensor = try file.load(name, shape: nil)
    guard tensor.count == 1 else { throw .tensorShapeMismatch(tensor: name, expected: [], actual: tensor.shape) }
    return tensor.pointer[0]
}

/// Same data, new shape of the same element count (storage shared, no copy).
private func reshaped(_ tensor: Tensor, _ shape: [Int]) -> Tensor {
    Tensor(reshaping: tensor, to: shape)
}

/// Stacks tensors' rows (q, k, v → qkv).
private func concatenateRows(_ parts: [Tensor], shape: [Int]) -> Tensor {
    Tensor(shape: shape) { out in
        var offset = 0
        for part in parts {
            (out.baseAddress! + offset).update(from: part.pointer, count: part.count)
            offset += part.count
        }
    }
}

/// (rows, cols) → (cols, rows).
private func transposed(_ tensor: Tensor) -> Tensor {
    let rows = tensor.shape[0], cols = tensor.shape[1]
    return Tensor(shape: [cols, rows]) { out in
        for r in 0..<rows {
            for c in 0..<cols {
                out[c * rows + r] = tensor.pointer[r * cols + c]
            }
        }
    }
}
