import CLIP
import FuzzDriver
import Foundation

/// OpenAI's vocabulary, loaded once (from `CLIP_FUZZ_VOCAB`, else the repo's Models/).
let tokenizer: BPETokenizer = {
    let path = ProcessInfo.processInfo.environment["CLIP_FUZZ_VOCAB"] ?? "Models/bpe_simple_vocab_16e6.txt.gz"
    do {
        return try BPETokenizer.load(modelDirectory: nil, fallbackVocabulary: URL(fileURLWithPath: path))
    } catch {
        fatalError("FuzzTokenizer: cannot load the vocabulary at \(path): \(error)")
    }
}()

/// Any text (the bytes as UTF-8, invalid sequences replaced as a String does) through cleaning,
/// pre-tokenizing and BPE; the ids must keep the tokenizer's contract.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzTokenizer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    // The server refuses texts over 2,000 bytes before tokenizing; fuzz what it accepts.
    guard size <= 2000 else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let ids = tokenizer.tokenize(text)
    precondition(ids.first == 49406 && ids.last == 49407 && ids.count <= 77, "bad ids for \(text.debugDescription): \(ids)")
    return 0
}

/// The entry point SwiftPM links as `main` (`<Module>_main`): libFuzzer's driver with the callback.
@_cdecl("FuzzTokenizer_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzTokenizer(data, size) }
}
