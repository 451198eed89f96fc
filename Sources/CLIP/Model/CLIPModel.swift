// CLIP's two towers loaded from a model directory; follows `CLIPModel.get_image_features` /
// `get_text_features` (then L2-normalized) in
// https://github.com/huggingface/transformers/blob/main/src/transformers/models/clip/modeling_clip.py
import Foundation
import NeuralOps

/// The CLIP image and text encoders. Immutable after loading; every call allocates its own scratch
/// (once per call, reused across layers), so calls from several threads run concurrently. A call
/// blocks its thread while it computes and spreads its work over all cores (NeuralOps' own workers;
/// OpenBLAS is switched to one thread process-wide), so async callers should run it off the
/// cooperative pool, e.g. on a dedicated thread or executor.
public final class CLIPModel: Sendable {
    public let config: CLIPConfig
    /// `exp(logit_scale)`: the factor on cosine similarities for logits (100 for the released model).
    public let logitScale: Float
    /// The model directory's name, e.g. "clip-vit-base-patch32".
    public let name: String

    /// The weight precision each tower runs in (see `PrecisionSetting`).
    public let imagePrecision: WeightPrecision
    public let textPrecision: WeightPrecision

    let vision: VisionTransformer
    let text: TextTransformer

    /// Loads `model.safetensors` from `directory`, with Hugging Face or OpenAI/open_clip key names.
    /// `config.json` is required with Hugging Face names; with open_clip names it is optional and the
    /// sizes are read off the tensor shapes when it is absent (see OpenCLIPConfig.swift).
    /// `precision` chooses each tower's weight precision (`auto`: f16 where that is lossless).
    public init(directory: URL, precision: PrecisionSetting = .auto) throws(CLIPError) {
        let config: CLIPConfig
        let visionWeights: VisionWeights, textWeights: TextWeights
        let rawLogitScale: Float
        do {  // the file and the unpacked tensors end with this block
            let weightsURL = directory.appendingPathComponent("model.safetensors")
            let configURL = directory.appendingPathComponent("config.json")
            let file = try SafeTensorsFile(url: weightsURL)
            let naming = try WeightNaming.detect(in: file)
            if naming == .openCLIP, !FileManager.default.fileExists(atPath: configURL.path) {
                config = try CLIPConfig(inferringFrom: file)
            } else {
                config = try CLIPConfig(contentsOf: configURL)
            }
            let weights = try CLIPWeights(file: file, naming: naming, config: config)
            visionWeights = weights.vision.prepared(precision)
            textWeights = weights.text.prepared(precision)
            rawLogitScale = weights.logitScale
        }
        releaseFreeMemory()  // the tensors' copies were freed: give their pages back

        self.config = config
        logitScale = Foundation.exp(rawLogitScale)
        name = directory.standardizedFileURL.lastPathComponent
        imagePrecision = runningPrecision(visionWeights.layers)
        textPrecision = runningPrecision(textWeights.layers)
        vision = VisionTransformer(config: config.vision, weights: visionWeights, projectionDim: config.projectionDim)
        text = TextTransformer(config: config.text, weights: textWeights, projectionDim: config.projectionDim)
    }

    /// The precision in use: one name when both towers share it ("f16"), else "image=f32,text=f16".
    public var precisionLabel: String {
        imagePrecision == textPrecision ? imagePrecision.rawValue
            : "image=\(imagePrecision.rawValue),text=\(textPrecision.rawValue)"
    }

    /// pixels: (batch, 3, imageSize, imageSize) normalized, channel-major → (batch, projectionDim),
    /// L2-normalized. Safe to call from several threads at once.
    public func imageEmbeddings(pixels: UnsafeBufferPointer<Float>, batch: Int) -> [[Float]] {
        vision.embed(pixels: pixels, batch: batch)
    }

    /// Token id lists, each starting with 49406 and containing 49407 (≤ 77 ids) → (n, projectionDim),
    /// L2-normalized. Safe to call from several threads at once.
    public func textEmbeddings(tokenIds: [[Int32]]) -> [[Float]] {
        text.embed(tokenIds: tokenIds)
    }
}
