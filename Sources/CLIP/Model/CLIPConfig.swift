// Hugging Face `CLIPConfig` (config.json), with transformers' defaults for missing fields, which are
// those of openai/clip-vit-base-patch32. Reference:
// https://github.com/huggingface/transformers/blob/main/src/transformers/models/clip/configuration_clip.py
import Foundation
import NeuralOps

/// One transformer tower's sizes (shared by the text and the vision encoder).
public struct TowerConfig: Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numAttentionHeads: Int
    public var numHiddenLayers: Int
    /// `hidden_act`: "quick_gelu" (OpenAI) or "gelu".
    /// `hidden_act`, refused at load when NeuralOps has no such activation.
    public var hiddenAct: Activation
    public var layerNormEps: Float

    public var headDim: Int { hiddenSize / numAttentionHeads }
}

public struct CLIPTextConfig: Sendable, Equatable {
    public var tower: TowerConfig
    public var vocabSize: Int
    public var maxPositionEmbeddings: Int
    /// 49407 (`<|endoftext|>`); 2 in legacy configs, where transformers pools at the largest id.
    public var eosTokenId: Int

    public static let base = CLIPTextConfig(
        tower: TowerConfig(hiddenSize: 512, intermediateSize: 2048, numAttentionHeads: 8, numHiddenLayers: 12,
                           hiddenAct: .quickGELU, layerNormEps: 1e-5),
        vocabSize: 49408, maxPositionEmbeddings: 77, eosTokenId: 49407)
}

public struct CLIPVisionConfig: Sendable, Equatable {
    public var tower: TowerConfig
    public var imageSize: Int
    public var patchSize: Int
    public var numChannels: Int

    /// Patches per side (7 for 224/32).
    public var gridSize: Int { imageSize / patchSize }
    /// Class token + patches (50 for ViT-B/32).
    public var numPositions: Int { gridSize * gridSize + 1 }

    public static let base = CLIPVisionConfig(
        tower: TowerConfig(hiddenSize: 768, intermediateSize: 3072, numAttentionHeads: 12, numHiddenLayers: 12,
                           hiddenAct: .quickGELU, layerNormEps: 1e-5),
        imageSize: 224, patchSize: 32, numChannels: 3)
}

public struct CLIPConfig: Sendable, Equatable {
    public var text: CLIPTextConfig
    public var vision: CLIPVisionConfig
    public var projectionDim: Int
    public var logitScaleInitValue: Float

    public var imageSize: Int { vision.imageSize }
    public var patchSize: Int { vision.patchSize }

    /// openai/clip-vit-base-patch32.
    public static let base = CLIPConfig(text: .base, vision: .base, projectionDim: 512, logitScaleInitValue: 2.6592)

    public init(text: CLIPTextConfig, vision: CLIPVisionConfig, projectionDim: Int, logitScaleInitValue: Float) {
        self.text = text
        self.vision = vision
        self.projectionDim = projectionDim
        self.logitScaleInitValue = logitScaleInitValue
    }

    /// Reads a Hugging Face config.json; missing fields take transformers' (ViT-B/32) defaults.
    public init(contentsOf url: URL) throws(CLIPError) {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .modelFileUnreadable(path: url.path, reason: "\(error.localizedDescription)")
        }
        try self.init(json: data, path: url.path)
    }

    public init(json data: Data, path: String = "config.json") throws(CLIPError) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw .invalidModelConfig(path: path, reason: "not valid JSON")
        }
        guard let root = object as? [String: Any] else {
            throw .invalidModelConfig(path: path, reason: "the top level is not a JSON object")
        }
        let reader = ConfigReader(path: path)
        // Older configs (e.g. openai/clip-vit-base-patch32's) also carry `text_config_dict` /
        // `vision_config_dict`; as in transformers, those win over `text_config` / `vision_config`.
        let textDict = try reader.object(root, "text_config_dict")
        let visionDict = try reader.object(root, "vision_config_dict")
        let textJSON = textDict.isEmpty ? try reader.object(root, "text_config") : textDict
        let visionJSON = visionDict.isEmpty ? try reader.object(root, "vision_config") : visionDict

        let base = CLIPConfig.base
        text = CLIPTextConfig(
            tower: try reader.tower(textJSON, section: "text_config", defaults: base.text.tower),
            vocabSize: try reader.int(textJSON, "vocab_size", section: "text_config", default: base.text.vocabSize),
            maxPositionEmbeddings: try reader.int(textJSON, "max_position_embeddings", section: "text_config",
                                                  default: base.text.maxPositionEmbeddings),
            eosTokenId: try reader.int(textJSON, "eos_token_id", section: "text_config", default: base.text.eosTokenId,
                                       allowZero: true))
        vision = CLIPVisionConfig(
            tower: try reader.tower(visionJSON, section: "vision_config", defaults: base.vision.tower),
            imageSize: try reader.int(visionJSON, "image_size", section: "vision_config", default: base.vision.imageSize),
            patchSize: try reader.int(visionJSON, "patch_size", section: "vision_config", default: base.vision.patchSize),
            numChannels: try reader.int(visionJSON, "num_channels", section: "vision_config",
                                        default: base.vision.numChannels))
        projectionDim = try reader.int(root, "projection_dim", section: nil, default: base.projectionDim)
        logitScaleInitValue = try reader.float(root, "logit_scale_init_value", section: nil,
                                               default: base.logitScaleInitValue)
        try validate(path: path)
    }

    /// Sizes the engine relies on: heads divide the width, patches tile the image.
    func validate(path: String) throws(CLIPError) {
        for (name, tower) in [("text_config", text.tower), ("vision_config", vision.tower)] {
            guard tower.hiddenSize % tower.numAttentionHeads == 0 else {
                throw .invalidModelConfig(path: path, reason: "\(name).hidden_size \(tower.hiddenSize) is not a multiple of num_attention_heads \(tower.numAttentionHeads)")
            }
        }
        guard vision.imageSize % vision.patchSize == 0 else {
            throw .invalidModelConfig(path: path, reason: "vision_config.image_size \(vision.imageSize) is not a multiple of patch_size \(vision.patchSize)")
        }
    }
}

/// JSON `true`/`false` (on Linux an integer NSNumber also casts to Bool, so test the concrete type).
private func isBoolean(_ value: Any) -> Bool {
    type(of: value) != NSNumber.self && value is Bool
}

/// Typed field access for config.json, with errors that name the field.
private struct ConfigReader {
    let path: String

    func object(_ json: [String: Any], _ key: String) throws(CLIPError) -> [String: Any] {
        guard let value = json[key], !(value is NSNull) else { return [:] }
        guard let object = value as? [String: Any] else {
            throw .invalidModelConfig(path: path, reason: "\(key) is not an object")
        }
        return object
    }

    func int(_ json: [String: Any], _ key: String, section: String?, default fallback: Int,
             allowZero: Bool = false) throws(CLIPError) -> Int {
        let field = section.map { "\($0).\(key)" } ?? key
        guard let value = json[key], !(value is NSNull) else { return fallback }
        // image_size may be [h, w] and eos_token_id a list: take the first (square images only).
        let scalar = (value as? [Any])?.first ?? value
        guard let number = scalar as? NSNumber, !isBoolean(scalar),
              Double(number.intValue) == number.doubleValue else {
            throw .invalidModelConfig(path: path, reason: "\(field) is not an integer")
        }
        let int = number.intValue
        guard int > 0 || (allowZero && int == 0), int < 1 << 24 else {
            throw .invalidModelConfig(path: path, reason: "\(field) = \(int) is out of range")
        }
        return int
    }

    func float(_ json: [String: Any], _ key: String, section: String?, default fallback: Float) throws(CLIPError) -> Float {
        guard let value = json[key], !(value is NSNull) else { return fallback }
        guard let number = value as? NSNumber, !isBoolean(value) else {
            throw .invalidModelConfig(path: path, reason: "\(section.map { "\($0)." } ?? "")\(key) is not a number")
        }
        return number.floatValue
    }

    func string(_ json: [String: Any], _ key: String, section: String, default fallback: String) throws(CLIPError) -> String {
        guard let value = json[key], !(value is NSNull) else { return fallback }
        guard let string = value as? String else {
            throw .invalidModelConfig(path: path, reason: "\(section).\(key) is not a string")
        }
        return string
    }

    func activation(_ json: [String: Any], section: String, default fallback: Activation) throws(CLIPError) -> Activation {
        let name = try string(json, "hidden_act", section: section, default: fallback.rawValue)
        guard let activation = Activation(rawValue: name) else {
            let known = Activation.allCases.map(\.rawValue).joined(separator: " or ")
            throw .invalidModelConfig(path: path, reason: "\(section).hidden_act \"\(name)\" is not \(known)")
        }
        return activation
    }

    func tower(_ json: [String: Any], section: String, defaults: TowerConfig) throws(CLIPError) -> TowerConfig {
        TowerConfig(
            hiddenSize: try int(json, "hidden_size", section: section, default: defaults.hiddenSize),
            intermediateSize: try int(json, "intermediate_size", section: section, default: defaults.intermediateSize),
            numAttentionHeads: try int(json, "num_attention_heads", section: section, default: defaults.numAttentionHeads),
            numHiddenLayers: try int(json, "num_hidden_layers", section: section, default: defaults.numHiddenLayers),
            hiddenAct: try activation(json, section: section, default: defaults.hiddenAct),
            layerNormEps: try float(json, "layer_norm_eps", section: section, default: defaults.layerNormEps))
    }
}
