import ArgumentParser
import CLIP
import Foundation

/// `clip-server tokenize --model DIR -- TEXT...`: one JSON array of ids per text, from 49406 to
/// 49407 inclusive, no padding (DESIGN.md 3).
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print CLIP's token ids for each text, one JSON array per line."
    )

    @Option(name: .long, help: "Model folder with vocab.json + merges.txt (default: $CLIP_MODEL, then Models/clip-vit-base-patch32). Without them, Models/bpe_simple_vocab_16e6.txt.gz is used.")
    var model: String?

    @Argument(help: "Texts to tokenize (put them after --).")
    var texts: [String] = []

    func run() throws {
        let directory = model ?? ProcessInfo.processInfo.environment["CLIP_MODEL"] ?? "Models/clip-vit-base-patch32"
        let tokenizer: BPETokenizer
        do {
            tokenizer = try BPETokenizer.load(
                modelDirectory: URL(fileURLWithPath: directory),
                fallbackVocabulary: URL(fileURLWithPath: "Models/bpe_simple_vocab_16e6.txt.gz"))
        } catch {
            FileHandle.standardError.write(Data("clip-server tokenize: \(error)\n".utf8))
            throw ExitCode.failure
        }
        var out = ""
        for text in texts {
            let ids = tokenizer.tokenize(text)
            out += "[" + ids.map(String.init).joined(separator: ",") + "]\n"
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
