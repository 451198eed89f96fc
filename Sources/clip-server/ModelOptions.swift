import ArgumentParser
import CLIP
import Foundation

/// `--model DIR`, shared by the commands that load a model: falls back to `$CLIP_MODEL`, then
/// `Models/clip-vit-base-patch32` (DESIGN.md 3). A folder without vocab.json + merges.txt uses
/// OpenAI's `Models/bpe_simple_vocab_16e6.txt.gz` (fetched by `make setup`).
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model folder: config.json, model.safetensors, and vocab.json + merges.txt (default: $CLIP_MODEL, then Models/clip-vit-base-patch32).")
    var model: String?

    @Option(name: .long, help: "Weight precision: auto (f16 where every weight of a tower is an exact fp16 value, else f32), f32, f16 (rounds weights that are not), int8.")
    var precision: PrecisionSetting = .auto

    static let defaultModel = "Models/clip-vit-base-patch32"
    static let fallbackVocabulary = URL(fileURLWithPath: "Models/bpe_simple_vocab_16e6.txt.gz")

    var directory: URL {
        URL(fileURLWithPath: model ?? ProcessInfo.processInfo.environment["CLIP_MODEL"] ?? Self.defaultModel)
    }

    func loadTokenizer() throws -> BPETokenizer {
        try BPETokenizer.load(modelDirectory: directory, fallbackVocabulary: Self.fallbackVocabulary)
    }

    func loadEncoder(fastDecode: Bool = false) throws -> CLIPEncoder {
        try CLIPEncoder(modelDirectory: directory, fallbackVocabulary: Self.fallbackVocabulary, precision: precision,
                        fastDecode: fastDecode)
    }
}

extension PrecisionSetting: ExpressibleByArgument {}

/// One line on stderr and a non-zero exit: how every command reports bad input (DESIGN.md 3).
func exitWithMessage(_ command: String, _ message: String) -> Never {
    FileHandle.standardError.write(Data("clip-server \(command): \(message)\n".utf8))
    Foundation.exit(ExitCode.failure.rawValue)
}

/// Writes `text` to stdout in one call.
func writeStandardOutput(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// Each value as one line of JSON on stdout (DESIGN.md 3), keys sorted so lines are stable to diff,
/// written in one call.
func printJSONLines(_ values: [some Encodable]) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    var output = Data()
    for value in values {
        output.append(try encoder.encode(value))
        output.append(UInt8(ascii: "\n"))
    }
    FileHandle.standardOutput.write(output)
}
