import Foundation
import Testing

@testable import CLIP

// Expected ids come from OpenAI's simple_tokenizer.py (tools/make_tokenizer_corpus.py).

// MARK: - Fixtures

private let repoRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
private let vocabGz = repoRoot.appendingPathComponent("Models/bpe_simple_vocab_16e6.txt.gz")
private let corpusURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/tokenizer/corpus.jsonl")

private struct CorpusLine: Decodable {
    let text: String
    let ids: [Int]
}

private func loadCorpus() throws -> [CorpusLine] {
    let data = try Data(contentsOf: corpusURL)
    let decoder = JSONDecoder()
    return try data.split(separator: UInt8(ascii: "\n")).map { try decoder.decode(CorpusLine.self, from: Data($0)) }
}

/// The tokenizer from OpenAI's vocabulary file, loaded once for all tests.
private let sharedTokenizer: Result<BPETokenizer, any Error> = Result {
    guard FileManager.default.fileExists(atPath: vocabGz.path) else {
        throw TestSetupError(message: "\(vocabGz.path) is missing: run `make setup` to fetch OpenAI's vocabulary")
    }
    return try BPETokenizer(openAIVocabulary: vocabGz)
}

private struct TestSetupError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

private func tokenizer() throws -> BPETokenizer { try sharedTokenizer.get() }

/// Corpus strings we knowingly tokenize differently from the reference, with the reason.
/// Empty: every string must match.
private let knownDifferences: [String: String] = [:]

// temporaryDirectory() comes from ModelFixtures.swift (a second, private copy here did not compile).

// MARK: - Exactness against OpenAI's tokenizer

@Test func corpusMatchesOpenAITokenizerExactly() throws {
    let tok = try tokenizer()
    let corpus = try loadCorpus()
    #expect(corpus.count >= 1500)
    var mismatches: [String] = []
    for line in corpus where knownDifferences[line.text] == nil {
        let got = tok.tokenize(line.text)
        if got != line.ids {
            mismatches.append("\(line.text.debugDescription)\n  expected \(line.ids)\n  got      \(got)")
        }
    }
    #expect(mismatches.isEmpty, "\(mismatches.count) of \(corpus.count) strings differ:\n\(mismatches.joined(separator: "\n"))")
}

@Test func knownTokenIds() throws {
    let tok = try tokenizer()
    #expect(tok.startOfTextID == 49406)
    #expect(tok.endOfTextID == 49407)
    #expect(tok.vocabularySize == 49408)
    #expect(tok.tokenize("") == [49406, 49407])
}

// MARK: - Truncation and padding

@Test func paddingFillsWithZerosTo77() throws {
    let tok = try tokenizer()
    let ids = tok.tokenize("a photo of a cat", pad: true)
    #expect(ids.count == 77)
    #expect(Array(ids.prefix(7)) == tok.tokenize("a photo of a cat"))
    #expect(ids.dropFirst(7).allSatisfy { $0 == 0 })
    #expect(tok.tokenize("", pad: true) == [49406, 49407] + Array(repeating: 0, count: 75))
}

@Test func truncationKeepsEndOfTextLast() throws {
    let tok = try tokenizer()
    let long = String(repeating: "a photo of a cat ", count: 40)
    let full = tok.encode(long)
    #expect(full.count == 200)  // 5 tokens x 40
    for pad in [false, true] {
        let ids = tok.tokenize(long, pad: pad)
        #expect(ids.count == 77)
        #expect(ids.first == 49406)
        #expect(ids.last == 49407)
        #expect(Array(ids[1..<76]) == Array(full.prefix(75)))
    }
    // 75 content tokens fit exactly; 76 lose the last one to the end token.
    let seventyFive = String(repeating: "cat ", count: 75)
    #expect(tok.tokenize(seventyFive) == [49406] + tok.encode(seventyFive) + [49407])
    let seventySix = String(repeating: "cat ", count: 76)
    #expect(tok.tokenize(seventySix) == [49406] + tok.encode(seventySix).prefix(75) + [49407])
    // Other context lengths.
    #expect(tok.tokenize(long, contextLength: 5) == [49406] + full.prefix(3) + [49407])
}

// MARK: - Hugging Face layout

/// Writes vocab.json and merges.txt as Hugging Face publishes them for openai/clip-vit-base-patch32,
/// derived from OpenAI's gzip file with OpenAI's recipe (bytes_to_unicode order, then `</w>` forms,
/// then one id per merge, then the two special tokens). They are 2 MB, so the test makes them
/// rather than committing them.
private func writeHuggingFaceFiles(to dir: URL) throws {
    let raw = try #require(Gunzip.inflate(try Data(contentsOf: vocabGz)))
    let lines = String(decoding: raw, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    let merges = lines[1...48894]
    // bytes_to_unicode: printable Latin-1 bytes keep their character, the rest get U+0100 onwards.
    let printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
    var byteChars = printable.map { String(UnicodeScalar(UInt8($0))) }
    var n = 0
    for b in 0..<256 where !printable.contains(b) {
        byteChars.append(String(UnicodeScalar(UInt32(256 + n))!))
        n += 1
    }
    var symbols = byteChars + byteChars.map { $0 + "</w>" }
    symbols += merges.map { $0.split(separator: " ").joined() }
    symbols += ["<|startoftext|>", "<|endoftext|>"]
    var vocab: [String: Int] = [:]
    for (id, symbol) in symbols.enumerated() { vocab[symbol] = id }
    try JSONSerialization.data(withJSONObject: vocab).write(to: dir.appendingPathComponent("vocab.json"))
    let mergesText = "#version: 0.2\n" + merges.joined(separator: "\n") + "\n"
    try Data(mergesText.utf8).write(to: dir.appendingPathComponent("merges.txt"))
}

@Test func huggingFaceFilesGiveTheSameIdsAsTheGzipFile() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    try writeHuggingFaceFiles(to: dir)
    let hf = try BPETokenizer.load(modelDirectory: dir, fallbackVocabulary: dir.appendingPathComponent("absent.gz"))
    var mismatches: [String] = []
    for line in try loadCorpus() where knownDifferences[line.text] == nil {
        let got = hf.tokenize(line.text)
        if got != line.ids { mismatches.append("\(line.text.debugDescription): expected \(line.ids), got \(got)") }
    }
    #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
}

@Test func modelDirectoryWithoutVocabularyFallsBackToGzip() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let tok = try BPETokenizer.load(modelDirectory: dir, fallbackVocabulary: vocabGz)
    #expect(tok.tokenize("a photo of a cat") == [49406, 320, 1125, 539, 320, 2368, 49407])
}

// MARK: - Missing and malformed vocabulary files

@Test func missingVocabularyFileIsNamed() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let absent = dir.appendingPathComponent("bpe_simple_vocab_16e6.txt.gz")
    #expect(throws: CLIPError.tokenizerFileMissing(path: absent.path)) {
        try BPETokenizer(openAIVocabulary: absent)
    }
    // vocab.json without merges.txt: the missing merges.txt is named.
    try Data("{}".utf8).write(to: dir.appendingPathComponent("vocab.json"))
    #expect(throws: CLIPError.tokenizerFileMissing(path: dir.appendingPathComponent("merges.txt").path)) {
        try BPETokenizer.load(modelDirectory: dir, fallbackVocabulary: vocabGz)
    }
    // Neither layout: the error names both places looked at.
    let empty = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: empty) }
    do {
        _ = try BPETokenizer.load(modelDirectory: empty, fallbackVocabulary: absent)
        Issue.record("expected an error")
    } catch let error as CLIPError {
        guard case .tokenizerFileMissing(let path) = error else { Issue.record("wrong error \(error)"); return }
        #expect(path.contains(empty.appendingPathComponent("vocab.json").path))
        #expect(path.contains(absent.path))
    }
}

@Test func malformedVocabularyFilesAreNamed() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }

    // Not gzip at all.
    let notGzip = dir.appendingPathComponent("bpe_simple_vocab_16e6.txt.gz")
    try Data("this is not gzip".utf8).write(to: notGzip)
    #expect(throws: CLIPError.tokenizerFileMalformed(path: notGzip.path, reason: "not a complete gzip stream")) {
        try BPETokenizer(openAIVocabulary: notGzip)
    }
    // A truncated gzip stream.
    let truncated = dir.appendingPathComponent("truncated.txt.gz")
    try Data(try Data(contentsOf: vocabGz).prefix(5000)).write(to: truncated)
    #expect(throws: CLIPError.tokenizerFileMalformed(path: truncated.path, reason: "not a complete gzip stream")) {
        try BPETokenizer(openAIVocabulary: truncated)
    }

    // vocab.json that is not JSON, with a good merges.txt.
    try writeHuggingFaceFiles(to: dir)
    let vocab = dir.appendingPathComponent("vocab.json")
    let merges = dir.appendingPathComponent("merges.txt")
    let goodVocab = try Data(contentsOf: vocab)
    try Data("{\"a\": 1,".utf8).write(to: vocab)
    #expect(throws: CLIPError.tokenizerFileMalformed(path: vocab.path, reason: "not valid JSON")) {
        try BPETokenizer(vocabJSON: vocab, merges: merges)
    }
    // merges.txt with a line of three symbols.
    try goodVocab.write(to: vocab)
    try Data("#version: 0.2\ni n\nt h e\n".utf8).write(to: merges)
    #expect(throws: CLIPError.tokenizerFileMalformed(path: merges.path, reason: "line 3: expected two symbols, found 3")) {
        try BPETokenizer(vocabJSON: vocab, merges: merges)
    }
    // merges.txt naming a symbol the vocabulary lacks.
    try Data("#version: 0.2\ni n\nqqq zzz\n".utf8).write(to: merges)
    #expect(throws: CLIPError.tokenizerFileMalformed(
        path: merges.path, reason: "line 3: symbol \"qqq\" is not in the vocabulary")) {
        try BPETokenizer(vocabJSON: vocab, merges: merges)
    }
}

// MARK: - Threads

@Test func tokenizingFromManyThreadsGivesTheSameIds() throws {
    let tok = try tokenizer()
    let corpus = Array(try loadCorpus().prefix(400))
    let results = Results(count: corpus.count)
    let texts = corpus.map(\.text)
    DispatchQueue.concurrentPerform(iterations: texts.count * 2) { k in
        results.set(k % texts.count, tok.tokenize(texts[k % texts.count]))
    }
    for (i, line) in corpus.enumerated() where knownDifferences[line.text] == nil {
        #expect(results.get(i) == line.ids, "\(line.text.debugDescription)")
    }
}

private final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [[Int]]
    init(count: Int) { items = Array(repeating: [], count: count) }
    func set(_ i: Int, _ ids: [Int]) { lock.lock(); items[i] = ids; lock.unlock() }
    func get(_ i: Int) -> [Int] { lock.lock(); defer { lock.unlock() }; return items[i] }
}
