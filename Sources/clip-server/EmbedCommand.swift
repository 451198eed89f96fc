import ArgumentParser
import CLIP
import Foundation

/// `clip-server embed --model DIR [--text T]... [--image PATH]...`: one JSON line per input, texts
/// first then images, each in the order given (DESIGN.md 3):
/// `{"type":"text"|"image","input":"...","embedding":[...unit vector...]}`.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Print the CLIP embedding of each text and image, one JSON object per line."
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var decodeOptions: DecodeOptions

    @Option(name: .long, help: "A text to embed (repeatable).")
    var text: [String] = []

    @Option(name: .long, help: "A JPEG or PNG file to embed (repeatable; EXIF orientation is applied).")
    var image: [String] = []

    func validate() throws {
        if text.isEmpty && image.isEmpty {
            throw ValidationError("give at least one --text or --image")
        }
    }

    func run() throws {
        // Exact decoding first, so a bad image is reported before the model is loaded; a reduced
        // decode (--fast-decode) depends on the model's crop size, so it follows the load.
        var decoded = decodeOptions.fastDecode ? [] : decodeImages { url throws(CLIPError) in try ImageDecoder.decode(contentsOf: url) }
        let encoder: CLIPEncoder
        do {
            encoder = try modelOptions.loadEncoder(fastDecode: decodeOptions.fastDecode)
        } catch {
            exitWithMessage("embed", "\(error)")
        }
        if decodeOptions.fastDecode { decoded = decodeImages { url throws(CLIPError) in try encoder.decode(contentsOf: url).image } }
        let lines = zip(text, encoder.encode(texts: text)).map { EmbeddingLine(type: "text", input: $0, embedding: $1) }
            + zip(image, encoder.encode(images: decoded)).map { EmbeddingLine(type: "image", input: $0, embedding: $1) }
        try printJSONLines(lines)
    }

    /// Every `--image`, in order; the first that fails ends the command with its message.
    private func decodeImages(_ decode: (URL) throws(CLIPError) -> RGBImage) -> [RGBImage] {
        var images: [RGBImage] = []
        for path in image {
            do throws(CLIPError) {
                images.append(try decode(URL(fileURLWithPath: path)))
            } catch {
                if case .unreadableFile = error { exitWithMessage("embed", "\(error)") }
                exitWithMessage("embed", "\(path): \(error)")
            }
        }
        return images
    }
}

/// One line of `embed`'s output.
private struct EmbeddingLine: Encodable {
    let type: String
    let input: String
    let embedding: [Float]
}
