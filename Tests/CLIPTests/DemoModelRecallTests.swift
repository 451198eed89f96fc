import CLIP
import Foundation
import Testing

/// The project's own demo model (Models/demo, trained by tools/train_demo_model.py) through our whole
/// engine: every gallery JPEG decoded, preprocessed and encoded, every caption tokenized and encoded.
/// Each caption must find its own image, and about as often as the same model does in PyTorch
/// (its figure is recorded in demo.json by the training script, on the same files).
@Suite("Demo model: caption → image recall through our engine")
struct DemoModelRecallTests {
    struct DemoInfo: Decodable {
        let name: String
        let gallery: String
        let pytorchRecallAt1: Double
        let pytorchRecallAt5: Double
        enum CodingKeys: String, CodingKey {
            case name, gallery
            case pytorchRecallAt1 = "pytorch_recall_at_1", pytorchRecallAt5 = "pytorch_recall_at_5"
        }
    }

    struct GalleryEntry: Decodable { let file: String; let caption: String }

    // Tests/CLIPTests/ThisFile.swift → repository root is three levels up.
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let demoFolder = repositoryRoot.appendingPathComponent("Models/demo")
    static let vocabulary = repositoryRoot.appendingPathComponent("Models/bpe_simple_vocab_16e6.txt.gz")

    @Test func galleryCaptionsRetrieveTheirOwnImages() throws {
        let info = try JSONDecoder().decode(
            DemoInfo.self, from: Data(contentsOf: Self.demoFolder.appendingPathComponent("demo.json")))
        #expect(info.name == "clip-server-demo")
        let galleryFolder = Self.demoFolder.appendingPathComponent(info.gallery)
        let entries = try JSONDecoder().decode(
            [GalleryEntry].self, from: Data(contentsOf: galleryFolder.appendingPathComponent("captions.json")))
        #expect(entries.count >= 200)
        #expect(Set(entries.map(\.caption)).count == entries.count, "gallery captions must be unique")

        let encoder = try CLIPEncoder(modelDirectory: Self.demoFolder, fallbackVocabulary: Self.vocabulary)
        let images = try entries.map { try ImageDecoder.decode(contentsOf: galleryFolder.appendingPathComponent($0.file)) }
        let imageEmbeddings = encoder.encode(images: images)  // (n, projection), unit rows
        let textEmbeddings = encoder.encode(texts: entries.map(\.caption))  // (n, projection), unit rows

        let (recallAt1, recallAt5, misses) = Self.recall(texts: textEmbeddings, images: imageEmbeddings)
        let report = "ours @1 \(recallAt1) @5 \(recallAt5); PyTorch @1 \(info.pytorchRecallAt1) @5 \(info.pytorchRecallAt5)"
        print("DemoModelRecall: \(entries.count) captions, \(report)")
        for (caption, best) in misses.prefix(10) {
            print("  rank > 1: \(entries[caption].caption) → \(entries[best].caption)")
        }
        // Our engine must rank as PyTorch does with the same files and weights.
        #expect(abs(recallAt1 - info.pytorchRecallAt1) <= 0.01, "\(report)")
        #expect(recallAt5 >= 0.98, "\(report)")
        #expect(recallAt1 >= 0.90, "\(report)")
    }

    /// Caption i belongs to image i. A caption's rank is the number of images scoring strictly above
    /// its own (as tools/train_demo_model.py counts it); recall@k = share of ranks below k.
    static func recall(texts: [[Float]], images: [[Float]]) -> (Double, Double, [(Int, Int)]) {
        var hits1 = 0, hits5 = 0
        var misses: [(Int, Int)] = []
        for (i, text) in texts.enumerated() {
            let scores = images.map { dot(text, $0) }
            let rank = scores.filter { $0 > scores[i] }.count
            if rank < 1 { hits1 += 1 } else { misses.append((i, scores.indices.max { scores[$0] < scores[$1] }!)) }
            if rank < 5 { hits5 += 1 }
        }
        return (Double(hits1) / Double(texts.count), Double(hits5) / Double(texts.count), misses)
    }

    static func dot(_ a: [Float], _ b: [Float]) -> Float {
        var sum: Float = 0
        for (x, y) in zip(a, b) { sum += x * y }
        return sum
    }
}
