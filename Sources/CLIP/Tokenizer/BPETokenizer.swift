import Foundation

/// CLIP's text tokenizer: OpenAI's byte-level BPE (`simple_tokenizer.py`, see DESIGN.md 2), byte for byte.
///
/// `tokenize` gives `[49406] + tokens + [49407]`, truncated to the context length with the last id
/// kept as 49407, as `open_clip.tokenize`/`clip.tokenize(truncate=True)` do. Safe to share between
/// threads: the vocabulary is immutable and the word cache is behind a lock.
public final class BPETokenizer: Sendable {
    /// CLIP's context length.
    public static let contextLength = 77

    /// Id of `<|startoftext|>` (49406 for OpenAI's vocabulary).
    public let startOfTextID: Int
    /// Id of `<|endoftext|>` (49407 for OpenAI's vocabulary).
    public let endOfTextID: Int
    /// Number of ids (rows of the token embedding table).
    public let vocabularySize: Int

    private let encoder: BytePairEncoder
    private let cache = WordCache()

    // MARK: - Loading

    /// From OpenAI's `bpe_simple_vocab_16e6.txt.gz`.
    public convenience init(openAIVocabulary url: URL) throws {
        self.init(vocabulary: try VocabularyLoader.loadOpenAI(gzip: url))
    }

    /// From Hugging Face's `vocab.json` and `merges.txt`.
    public convenience init(vocabJSON: URL, merges: URL) throws {
        self.init(vocabulary: try VocabularyLoader.loadHuggingFace(vocabJSON: vocabJSON, merges: merges))
    }

    /// Uses `vocab.json` + `merges.txt` when `modelDirectory` has both, else OpenAI's gzip file at
    /// `fallbackVocabulary`. Throws `CLIPError.tokenizerFileMissing` naming what was looked for.
    public static func load(modelDirectory: URL?, fallbackVocabulary: URL) throws -> BPETokenizer {
        if let dir = modelDirectory {
            let vocab = dir.appendingPathComponent("vocab.json")
            let merges = dir.appendingPathComponent("merges.txt")
            let fm = FileManager.default
            if fm.fileExists(atPath: vocab.path) || fm.fileExists(atPath: merges.path) {
                // One of the pair present: use it, and name the missing one if it is the other.
                return try BPETokenizer(vocabJSON: vocab, merges: merges)
            }
            if !fm.fileExists(atPath: fallbackVocabulary.path) {
                throw CLIPError.tokenizerFileMissing(
                    path: "\(vocab.path) (with merges.txt) or \(fallbackVocabulary.path)")
            }
        }
        return try BPETokenizer(openAIVocabulary: fallbackVocabulary)
    }

    init(vocabulary: Vocabulary) {
        encoder = BytePairEncoder(vocabulary: vocabulary)
        startOfTextID = Int(vocabulary.startOfText)
        endOfTextID = Int(vocabulary.endOfText)
        vocabularySize = vocabulary.size
    }

    // MARK: - Tokenizing

    /// `[startOfText] + tokens + [endOfText]`, at most `contextLength` ids (when longer, the first
    /// `contextLength` are kept and the last becomes `endOfText`), padded with 0 to `contextLength`
    /// when `pad` is true.
    public func tokenize(_ text: String, contextLength: Int = BPETokenizer.contextLength, pad: Bool = false) -> [Int] {
        precondition(contextLength >= 2, "context length must leave room for the start and end tokens")
        // Only the first contextLength - 1 tokens can survive truncation: stop encoding there.
        var ids = [startOfTextID]
        ids.append(contentsOf: encode(text, limit: contextLength - 1))
        ids.append(endOfTextID)
        if ids.count > contextLength {
            ids.removeLast(ids.count - contextLength)
            ids[contextLength - 1] = endOfTextID
        }
        if pad, ids.count < contextLength {
            ids.append(contentsOf: repeatElement(0, count: contextLength - ids.count))
        }
        return ids
    }

    /// The BPE ids of the cleaned text, without start/end tokens or truncation
    /// (OpenAI's `SimpleTokenizer.encode`). With `limit`, stops once that many ids are produced
    /// (the result then holds at least `limit` ids, which is all `tokenize` can keep).
    public func encode(_ text: String, limit: Int = .max) -> [Int] {
        let cleaned = Array(TextCleaner.clean(text).unicodeScalars)
        var ids: [Int] = []
        for piece in PreTokenizer.split(cleaned) {
            if ids.count >= limit { break }
            switch piece {
            case .startOfText: ids.append(startOfTextID)
            case .endOfText: ids.append(endOfTextID)
            case .word(let range):
                // Keyed by UTF-8 bytes: String equality is canonical equivalence, BPE is not.
                var key: [UInt8] = []
                for scalar in cleaned[range] { key.append(contentsOf: UTF8.encode(scalar)!) }
                if let cached = cache.get(key) {
                    ids.append(contentsOf: cached.lazy.map { Int($0) })
                } else {
                    let symbols = encoder.encode(utf8: key)
                    cache.set(key, symbols)
                    ids.append(contentsOf: symbols.lazy.map { Int($0) })
                }
            }
        }
        return ids
    }
}

// MARK: - Word cache

/// Word → BPE ids, shared by all threads. Bounded: cleared when full, so arbitrary client text
/// cannot grow it without limit; long words are not cached at all.
final class WordCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [[UInt8]: [Int32]] = [:]
    private let capacity = 100_000
    private let longestCachedWord = 64  // UTF-8 bytes

    func get(_ word: [UInt8]) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return entries[word]
    }

    func set(_ word: [UInt8], _ ids: [Int32]) {
        guard word.count <= longestCachedWord else { return }
        lock.lock()
        defer { lock.unlock() }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[word] = ids
    }
}
