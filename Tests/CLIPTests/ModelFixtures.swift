import Foundation

/// The parity fixtures under Fixtures/model, made by tools/make_model_fixture.py with transformers.
enum ModelFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/model")

    /// Model directories: Hugging Face names in float16, and open_clip names in float32 (GELU).
    static let huggingFaceF16 = root.appendingPathComponent("tiny-hf-f16")
    static let openCLIPF32 = root.appendingPathComponent("tiny-openclip-f32")

    struct Text: Decodable { let text: String; let ids: [Int32] }

    struct Expected: Decodable {
        let imageEmbeddings: [[Float]]
        let textEmbeddings: [[Float]]
        let logitScaleExp: Float
        enum CodingKeys: String, CodingKey {
            case imageEmbeddings = "image_embeddings", textEmbeddings = "text_embeddings"
            case logitScaleExp = "logit_scale_exp"
        }
    }

    static func texts() throws -> [Text] {
        try JSONDecoder().decode([Text].self, from: Data(contentsOf: root.appendingPathComponent("inputs/texts.json")))
    }

    static func expected(_ model: URL) throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: model.appendingPathComponent("expected.json")))
    }

    /// The stored pixel tensors, each (3, 224, 224) float16 → Float, concatenated in file order.
    static func pixels() throws -> (values: [Float], count: Int) {
        var values: [Float] = []
        var n = 0
        while case let url = root.appendingPathComponent("inputs/pixels-\(n).f16"),
              FileManager.default.fileExists(atPath: url.path) {
            let data = try Data(contentsOf: url)
            data.withUnsafeBytes { raw in
                for i in 0..<(data.count / 2) {
                    values.append(Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))))
                }
            }
            n += 1
        }
        return (values, n)
    }
}

func cosine(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "cosine: \(a.count) vs \(b.count) dimensions")
    var dot: Double = 0, na: Double = 0, nb: Double = 0
    for (x, y) in zip(a, b) {
        dot += Double(x) * Double(y)
        na += Double(x) * Double(x)
        nb += Double(y) * Double(y)
    }
    return Float(dot / (na.squareRoot() * nb.squareRoot()))
}

/// A fresh temporary directory, removed by the caller with `try? FileManager.default.removeItem`.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("clip-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
