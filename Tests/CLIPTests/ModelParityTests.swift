import Foundation
import Testing
@testable import CLIP

// Parity with transformers' CLIPModel (normalized get_image_features / get_text_features) on two tiny
// seeded models: Hugging Face names in float16, and OpenAI/open_clip names in float32 with GELU.

private let variants = [ModelFixtures.huggingFaceF16, ModelFixtures.openCLIPF32]

@Test(arguments: variants)
func imageEmbeddingsMatchTransformers(directory: URL) throws {
    let model = try CLIPModel(directory: directory)
    let expected = try ModelFixtures.expected(directory)
    let (pixels, count) = try ModelFixtures.pixels()
    try #require(count == expected.imageEmbeddings.count && count >= 2)

    let batched = pixels.withUnsafeBufferPointer { model.imageEmbeddings(pixels: $0, batch: count) }
    try #require(batched.count == count)
    let perImage = 3 * model.config.imageSize * model.config.imageSize
    for i in 0..<count {
        #expect(batched[i].count == model.config.projectionDim)
        #expect(cosine(batched[i], expected.imageEmbeddings[i]) >= 0.9999, "image \(i) in a batch of \(count)")
        let single = pixels[i * perImage ..< (i + 1) * perImage].withUnsafeBufferPointer {
            model.imageEmbeddings(pixels: $0, batch: 1)
        }
        #expect(cosine(single[0], expected.imageEmbeddings[i]) >= 0.9999, "image \(i) alone")
    }
}

@Test(arguments: variants)
func textEmbeddingsMatchTransformers(directory: URL) throws {
    let model = try CLIPModel(directory: directory)
    let expected = try ModelFixtures.expected(directory)
    let texts = try ModelFixtures.texts()
    try #require(texts.count == expected.textEmbeddings.count && texts.count >= 20)
    #expect(texts.contains { $0.ids == [49406, 49407] })
    #expect(texts.contains { $0.ids.count == 77 })

    // All at once (grouped by length inside) and one at a time.
    let batched = model.textEmbeddings(tokenIds: texts.map(\.ids))
    try #require(batched.count == texts.count)
    for (i, text) in texts.enumerated() {
        #expect(batched[i].count == model.config.projectionDim)
        #expect(cosine(batched[i], expected.textEmbeddings[i]) >= 0.99999, "text \(i) \"\(text.text)\" in a batch")
        let single = model.textEmbeddings(tokenIds: [text.ids])
        #expect(cosine(single[0], expected.textEmbeddings[i]) >= 0.99999, "text \(i) \"\(text.text)\" alone")
    }
}

@Test(arguments: variants)
func embeddingsAreUnitLengthAndLogitScaleMatches(directory: URL) throws {
    let model = try CLIPModel(directory: directory)
    let expected = try ModelFixtures.expected(directory)
    #expect(abs(model.logitScale - expected.logitScaleExp) <= 1e-4 * expected.logitScaleExp)
    for embedding in model.textEmbeddings(tokenIds: try ModelFixtures.texts().map(\.ids)) {
        let norm = embedding.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(abs(norm - 1) < 1e-5)
    }
    #expect(model.name == directory.lastPathComponent)
}

@Test func tokensAfterTheFirstEndOfTextDoNotMatter() throws {
    // Causal masking: ids after the pooled <|endoftext|> never reach it (transformers pools there too).
    let model = try CLIPModel(directory: ModelFixtures.huggingFaceF16)
    let expected = try ModelFixtures.expected(ModelFixtures.huggingFaceF16)
    let texts = try ModelFixtures.texts()
    let index = try #require(texts.firstIndex { $0.text == "a photo of a cat" })
    let padded = texts[index].ids + [49407, 0, 0, 320, 49407]
    let embedding = model.textEmbeddings(tokenIds: [padded])[0]
    #expect(cosine(embedding, expected.textEmbeddings[index]) >= 0.99999)
}

@Test func concurrentCallsGiveTheSameEmbeddings() async throws {
    let model = try CLIPModel(directory: ModelFixtures.openCLIPF32)
    let ids = try ModelFixtures.texts().map(\.ids)
    let (pixels, count) = try ModelFixtures.pixels()
    let referenceTexts = model.textEmbeddings(tokenIds: ids)
    let referenceImages = pixels.withUnsafeBufferPointer { model.imageEmbeddings(pixels: $0, batch: count) }
    try await withThrowingTaskGroup(of: Bool.self) { group in
        for task in 0..<6 {
            group.addTask {
                if task % 2 == 0 {
                    return model.textEmbeddings(tokenIds: ids) == referenceTexts
                }
                return pixels.withUnsafeBufferPointer { model.imageEmbeddings(pixels: $0, batch: count) } == referenceImages
            }
        }
        for try await same in group { #expect(same) }
    }
}

@Test func openCLIPWeightsWithoutConfigInferSizesFromShapes() throws {
    // open_clip checkpoints ship no config.json: sizes come from the shapes, 64-wide heads (at least
    // one), QuickGELU. The fixture's own config differs only in its activation (GELU).
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    try FileManager.default.createSymbolicLink(
        at: directory.appendingPathComponent("model.safetensors"),
        withDestinationURL: ModelFixtures.openCLIPF32.appendingPathComponent("model.safetensors"))
    let inferred = try CLIPModel(directory: directory).config

    var stated = try CLIPConfig(contentsOf: ModelFixtures.openCLIPF32.appendingPathComponent("config.json"))
    #expect(stated.text.tower.hiddenAct == .gelu)
    stated.text.tower.hiddenAct = .quickGELU
    stated.vision.tower.hiddenAct = .quickGELU
    #expect(inferred == stated)
}

@Test func poolingPositionFollowsTransformersRule() throws {
    // transformers' CLIPTextTransformer: the first eos_token_id; with the legacy eos_token_id == 2,
    // the first position of the largest id (argmax). With no EOS, argmax over all-false gives 0.
    let model = try CLIPModel(directory: ModelFixtures.huggingFaceF16)
    var text = model.text
    #expect(text.config.eosTokenId == 49407)
    #expect(text.poolingIndex([49406, 320, 49407, 49407]) == 2)
    #expect(text.poolingIndex([49406, 320, 1125]) == 0)
    text = TextTransformer(config: { var c = text.config; c.eosTokenId = 2; return c }(),
                           weights: text.weights, projectionDim: text.projectionDim)
    #expect(text.poolingIndex([49406, 320, 49407, 49407]) == 2)
    #expect(text.poolingIndex([49406, 320, 1125]) == 0)
    #expect(text.poolingIndex([320, 49406, 1125]) == 1)
}

@Test func batchesLargerThanOnePassRunInChunks() throws {
    // 34 images (the fixture's, repeated) take two passes of at most 32; each must still match.
    let model = try CLIPModel(directory: ModelFixtures.huggingFaceF16)
    let expected = try ModelFixtures.expected(ModelFixtures.huggingFaceF16)
    let (pixels, count) = try ModelFixtures.pixels()
    let perImage = pixels.count / count
    let batch = 34
    let order = (0..<batch).map { $0 % count }
    let stacked = order.flatMap { pixels[$0 * perImage ..< ($0 + 1) * perImage] }
    let embeddings = stacked.withUnsafeBufferPointer { model.imageEmbeddings(pixels: $0, batch: batch) }
    try #require(embeddings.count == batch)
    for (embedding, image) in zip(embeddings, order) {
        #expect(cosine(embedding, expected.imageEmbeddings[image]) >= 0.9999)
    }
}

@Test func manyTextsRunInSeveralPasses() throws {
    // 3 x 23 texts: several passes of at most 32 sequences; each must still match.
    let model = try CLIPModel(directory: ModelFixtures.openCLIPF32)
    let expected = try ModelFixtures.expected(ModelFixtures.openCLIPF32)
    let texts = try ModelFixtures.texts()
    let order = (0..<(3 * texts.count)).map { $0 % texts.count }
    let embeddings = model.textEmbeddings(tokenIds: order.map { texts[$0].ids })
    try #require(embeddings.count == order.count)
    for (embedding, text) in zip(embeddings, order) {
        #expect(cosine(embedding, expected.textEmbeddings[text]) >= 0.99999)
    }
}
