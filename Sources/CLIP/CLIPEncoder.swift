import Dispatch
import Foundation

/// Texts and images in, unit-length embeddings out: the tokenizer, the image pipeline (decode →
/// resize → crop → normalize) and the two towers of a `CLIPModel`, put together. Sendable and safe to
/// call from several threads at once.
public final class CLIPEncoder: Sendable {
    public let model: CLIPModel
    public let tokenizer: BPETokenizer
    public let preprocessor: ImagePreprocessor
    /// Images per forward pass: big enough that the GEMMs run near peak, small enough to bound memory
    /// ((32, 3, 224, 224) floats = 19 MB of pixels plus the activations).
    public let imageBatchSize: Int
    /// `--fast-decode`: `decode` lets a JPEG shrink in the DCT domain first (no longer pixel-exact).
    public let fastDecode: Bool

    /// Loads `directory` (config.json + model.safetensors). The vocabulary is the folder's own
    /// vocab.json + merges.txt when present, else `fallbackVocabulary` (OpenAI's
    /// bpe_simple_vocab_16e6.txt.gz). Throws `CLIPError` naming the missing or malformed file.
    /// `precision`: each tower's weight precision (`auto`: f16 where lossless, see `PrecisionSetting`).
    public init(modelDirectory: URL, fallbackVocabulary: URL, imageBatchSize: Int = 32,
                precision: PrecisionSetting = .auto, fastDecode: Bool = false) throws {
        model = try CLIPModel(directory: modelDirectory, precision: precision)
        tokenizer = try BPETokenizer.load(modelDirectory: modelDirectory, fallbackVocabulary: fallbackVocabulary)
        guard tokenizer.vocabularySize <= model.config.text.vocabSize else {
            throw CLIPError.invalidModelConfig(
                path: modelDirectory.appendingPathComponent("config.json").path,
                reason: "the tokenizer has \(tokenizer.vocabularySize) tokens but the text tower only \(model.config.text.vocabSize)")
        }
        preprocessor = ImagePreprocessor(imageSize: model.config.imageSize)
        self.imageBatchSize = max(1, imageBatchSize)
        self.fastDecode = fastDecode
    }

    /// The model's name (its folder's name), stored beside vectors so models never mix.
    public var name: String { model.name }
    /// Length of every embedding (`projection_dim`: 512 for ViT-B/32).
    public var dimension: Int { model.config.projectionDim }
    /// `exp(logit_scale)`: logits = logitScale x cosine (100 for the released model).
    public var logitScale: Float { model.logitScale }

    // MARK: - Texts

    /// One unit vector per text, in order.
    public func encode(texts: [String]) -> [[Float]] {
        guard !texts.isEmpty else { return [] }
        let contextLength = model.config.text.maxPositionEmbeddings
        let ids = texts.map { tokenizer.tokenize($0, contextLength: contextLength).map(Int32.init) }
        return model.textEmbeddings(tokenIds: ids)
    }

    // MARK: - Images

    /// Decodes image bytes for this encoder: exactly as the reference does, or with `fastDecode` a
    /// JPEG reduced by 1/2, 1/4 or 1/8 while its short side stays at least
    /// `preprocessor.reducedDecodeShortSide`.
    public func decode(_ bytes: [UInt8], maxPixels: Int = ImageDecoder.defaultMaxPixels) throws(CLIPError) -> ImageDecoder.ReducedImage {
        try ImageDecoder.decode(bytes, maxPixels: maxPixels, reducingTo: reducedShortSide)
    }

    /// `decode` for a file.
    public func decode(contentsOf url: URL) throws(CLIPError) -> ImageDecoder.ReducedImage {
        try ImageDecoder.decode(contentsOf: url, reducingTo: reducedShortSide)
    }

    private var reducedShortSide: Int? { fastDecode ? preprocessor.reducedDecodeShortSide : nil }

    /// One unit vector per decoded image, in order; batches of `imageBatchSize` go through the
    /// tower together.
    public func encode(images: [RGBImage]) -> [[Float]] {
        guard !images.isEmpty else { return [] }
        let side = preprocessor.imageSize
        let perImage = 3 * side * side
        var embeddings: [[Float]] = []
        embeddings.reserveCapacity(images.count)
        var pixels = [Float](repeating: 0, count: min(images.count, imageBatchSize) * perImage)
        for start in stride(from: 0, to: images.count, by: imageBatchSize) {
            let batch = Array(images[start..<min(start + imageBatchSize, images.count)])
            pixels.withUnsafeMutableBufferPointer { buffer in
                let base = buffer.baseAddress!
                let preprocessor = self.preprocessor
                nonisolated(unsafe) let out = base
                // Each image writes its own (3, side, side) slice; resizing is the costly part.
                DispatchQueue.concurrentPerform(iterations: batch.count) { i in
                    preprocessor.pixelValues(crop: preprocessor.crop(batch[i]), into: out + i * perImage)
                }
                let filled = UnsafeBufferPointer(start: base, count: batch.count * perImage)
                embeddings += model.imageEmbeddings(pixels: filled, batch: batch.count)
            }
        }
        return embeddings
    }
}
