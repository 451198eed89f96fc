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

    @OptionGroup var modelOptions: ModelOptions

    @Argument(help: "Texts to tokenize (put them after --).")
    var texts: [String] = []

    func run() throws {
        let tokenizer: BPETokenizer
        do {
            tokenizer = try modelOptions.loadTokenizer()
        } catch {
            exitWithMessage("tokenize", "\(error)")
        }
        var out = ""
        for text in texts {
            let ids = tokenizer.tokenize(text)
            out += "[" + ids.map(String.init).joined(separator: ",") + "]\n"
        }
        writeStandardOutput(out)
    }
}
