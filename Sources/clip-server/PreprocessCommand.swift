import ArgumentParser
import CLIP
import Foundation

/// `clip-server preprocess --image PATH --output FILE`: the 224x224 RGB crop the model would see, before
/// normalization, as raw bytes (150,528 = 224 * 224 * 3, row-major, RGB interleaved). For comparing our
/// preprocessing with the reference (tools/make_image_fixtures.py) and for looking at what the model sees.
struct PreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Write the 224x224 RGB crop of an image (before normalization) as raw bytes."
    )

    @Option(name: .long, help: "A JPEG or PNG file (EXIF orientation is applied).")
    var image: String

    @Option(name: .long, help: "Where to write the raw crop: 150,528 bytes, row-major, RGB interleaved.")
    var output: String

    @Option(name: .long, help: "Side of the square crop.")
    var imageSize: Int = 224

    @OptionGroup var decodeOptions: DecodeOptions

    func validate() throws {
        guard imageSize > 0 && imageSize <= 4096 else {
            throw ValidationError("--image-size must be between 1 and 4096, got \(imageSize)")
        }
    }

    func run() throws {
        let crop: RGBImage
        do {
            // --fast-decode reduces as CLIPEncoder.decode does.
            let preprocessor = ImagePreprocessor(imageSize: imageSize)
            let decoded = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: image),
                                                  reducingTo: decodeOptions.fastDecode ? preprocessor.reducedDecodeShortSide : nil)
            crop = preprocessor.crop(decoded.image)
        } catch {
            // An unreadable file's message already names it.
            if case .unreadableFile = error { fail("\(error)") }
            fail("\(image): \(error)")
        }
        do {
            try Data(crop.pixels).write(to: URL(fileURLWithPath: output))
        } catch {
            fail("\(output): cannot write: \(error.localizedDescription)")
        }
    }

    /// One line on stderr and a non-zero exit (DESIGN.md section 3).
    private func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("clip-server preprocess: \(message)\n".utf8))
        Foundation.exit(ExitCode.failure.rawValue)
    }
}
