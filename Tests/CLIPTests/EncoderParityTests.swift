import CLIP
import Foundation
import Testing

/// The whole pipeline against transformers: image FILES (decode, EXIF, Pillow-exact resize and crop,
/// normalize, vision tower) and raw TEXTS (cleaning, BPE, text tower), through `CLIPEncoder`. The
/// expected embeddings are transformers' (tools/make_model_fixture.py → expected-files.json).
@Suite("CLIPEncoder vs transformers, end to end")
struct EncoderParityTests {
    struct ExpectedFiles: Decodable {
        struct Text: Decodable { let text: String; let embedding: [Float] }
        let images: [String: [Float]]
        let texts: [Text]
    }

    static let imagesFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/images")
    static let vocabulary = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Models/bpe_simple_vocab_16e6.txt.gz").standardizedFileURL

    func load() throws -> (CLIPEncoder, ExpectedFiles) {
        let encoder = try CLIPEncoder(modelDirectory: ModelFixtures.huggingFaceF16, fallbackVocabulary: Self.vocabulary)
        let expected = try JSONDecoder().decode(
            ExpectedFiles.self,
            from: Data(contentsOf: ModelFixtures.huggingFaceF16.appendingPathComponent("expected-files.json")))
        return (encoder, expected)
    }

    @Test func imageFilesMatchTransformers() throws {
        let (encoder, expected) = try load()
        let names = expected.images.keys.sorted()
        #expect(names.count >= 12)
        let images = try names.map { try ImageDecoder.decode(contentsOf: Self.imagesFolder.appendingPathComponent($0)) }
        let batched = encoder.encode(images: images)
        for (name, embedding) in zip(names, batched) {
            let similarity = cosine(embedding, expected.images[name]!)
            #expect(similarity >= 0.9999, "\(name): cosine \(similarity)")
        }
        // Through the bytes entry point as well (one image at a time).
        let first = try Data(contentsOf: Self.imagesFolder.appendingPathComponent(names[0]))
        #expect(cosine(encoder.encode(images: [try ImageDecoder.decode([UInt8](first))])[0], expected.images[names[0]]!) >= 0.9999)
    }

    @Test func textsMatchTransformers() throws {
        let (encoder, expected) = try load()
        #expect(expected.texts.count >= 20)
        let embeddings = encoder.encode(texts: expected.texts.map(\.text))
        for (text, embedding) in zip(expected.texts, embeddings) {
            let similarity = cosine(embedding, text.embedding)
            #expect(similarity >= 0.99999, "\(text.text.prefix(40)): cosine \(similarity)")
        }
    }

    @Test func missingModelFolderIsNamed() throws {
        let missing = URL(fileURLWithPath: "/nonexistent/clip-model")
        #expect {
            _ = try CLIPEncoder(modelDirectory: missing, fallbackVocabulary: Self.vocabulary)
        } throws: { error in
            "\(error)".contains("/nonexistent/clip-model/model.safetensors")
        }
    }
}
