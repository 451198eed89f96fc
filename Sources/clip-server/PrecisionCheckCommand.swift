import ArgumentParser
import CLIP
import Foundation

/// `clip-server precision-check --model DIR [--precision int8|f16] IMAGE...` (DESIGN.md 3): each
/// image's embedding in that precision against f32, on the user's own images and weights, as one JSON
/// object `{"precision","images","min_cosine","mean_cosine"}`.
struct PrecisionCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "precision-check",
        abstract: "Compare image embeddings in a weight precision with f32; prints one JSON object.",
        discussion: """
            Loads the model twice (the precision asked for, then f32) and reports the lowest and mean \
            cosine between the two embeddings of each image. "precision" is what ran: with auto it is f16 \
            or f32 (per tower when they differ).
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Argument(help: "JPEG or PNG files.")
    var images: [String] = []

    func validate() throws {
        if images.isEmpty { throw ValidationError("give at least one image") }
    }

    func run() throws {
        var decoded: [RGBImage] = []
        for path in images {
            do {
                decoded.append(try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: path)))
            } catch {
                if case .unreadableFile = error { exitWithMessage("precision-check", "\(error)") }
                exitWithMessage("precision-check", "\(path): \(error)")
            }
        }
        // One model at a time: the two never need to be resident together.
        let (label, checked) = try embed(decoded, precision: modelOptions.precision)
        let (_, reference) = try embed(decoded, precision: .f32)
        let cosines = zip(checked, reference).map(cosine)
        let result = PrecisionCheckResult(precision: label, images: decoded.count,
                                          minCosine: cosines.min() ?? 1,
                                          meanCosine: cosines.reduce(0, +) / Double(max(cosines.count, 1)))
        try printJSONLines([result])
    }

    /// The images' unit embeddings with the model loaded in `precision`, and the precision that ran.
    private func embed(_ images: [RGBImage], precision: PrecisionSetting) throws -> (String, [[Float]]) {
        var options = modelOptions
        options.precision = precision
        let encoder: CLIPEncoder
        do {
            encoder = try options.loadEncoder()
        } catch {
            exitWithMessage("precision-check", "\(error)")
        }
        return (encoder.model.precisionLabel, encoder.encode(images: images))
    }
}

/// Cosine of two vectors in Double (divided by both norms: unit-length Floats are 1 only to about 1e-7).
private func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var dot = 0.0, na = 0.0, nb = 0.0
    for (x, y) in zip(a, b) {
        dot += Double(x) * Double(y)
        na += Double(x) * Double(x)
        nb += Double(y) * Double(y)
    }
    return dot / (na * nb).squareRoot()
}

/// `precision-check`'s output (cosines of unit vectors, computed in Double).
private struct PrecisionCheckResult: Encodable {
    let precision: String
    let images: Int
    let minCosine: Double
    let meanCosine: Double

    enum CodingKeys: String, CodingKey {
        case precision, images
        case minCosine = "min_cosine", meanCosine = "mean_cosine"
    }
}
