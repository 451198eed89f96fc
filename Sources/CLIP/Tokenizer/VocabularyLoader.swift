import Foundation

// MARK: - Loading: OpenAI's gzip file, or Hugging Face's vocab.json + merges.txt

/// Reads a CLIP BPE vocabulary from disk. Every failure is a `CLIPError` naming the file.
enum VocabularyLoader {
    /// CLIP uses 49152 ids: 256 bytes, 256 bytes + `</w>`, 48894 merges and 2 special tokens.
    static let mergeCount = 49152 - 256 - 2

    /// OpenAI's `bpe_simple_vocab_16e6.txt.gz`: a header line, then one merge per line (only the
    /// first 48894 are used; the vocabulary is implied by the byte alphabet and the merges).
    static func loadOpenAI(gzip url: URL) throws -> Vocabulary {
        let path = url.path
        let compressed = try read(url)
        guard let raw = Gunzip.inflate(compressed) else {
            throw CLIPError.tokenizerFileMalformed(path: path, reason: "not a complete gzip stream")
        }
        guard let text = String(data: raw, encoding: .utf8) else {
            throw CLIPError.tokenizerFileMalformed(path: path, reason: "not UTF-8 text")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > mergeCount else {
            throw CLIPError.tokenizerFileMalformed(
                path: path, reason: "has \(max(lines.count - 1, 0)) merge lines, needs \(mergeCount)")
        }
        let merges = try parseMerges(lines[1...mergeCount], firstLineNumber: 2, path: path)

        // Ids in OpenAI's order: bytes, bytes + </w>, one per merge, then the two special tokens.
        var encoder = [String: Int](minimumCapacity: 49408)
        var next = 0
        func add(_ symbol: String) { encoder[symbol] = next; next += 1 }
        let bytes = ByteEncoder.vocabularyOrder.map { String(ByteEncoder.characters[Int($0)]) }
        bytes.forEach { add($0) }
        bytes.forEach { add($0 + "</w>") }
        merges.forEach { add($0.0 + $0.1) }
        add("<|startoftext|>")
        add("<|endoftext|>")
        return try Vocabulary(encoder: encoder, merges: merges, mergesFile: path, vocabFile: path)
    }

    /// Hugging Face's layout: `vocab.json` (symbol → id) and `merges.txt` ("#version" line, then
    /// one merge per line; read as `CLIPTokenizer` does: at most 48894 merges after the header).
    static func loadHuggingFace(vocabJSON: URL, merges mergesURL: URL) throws -> Vocabulary {
        let vocabPath = vocabJSON.path
        let mergesPath = mergesURL.path
        let json = try read(vocabJSON)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: json)
        } catch {
            throw CLIPError.tokenizerFileMalformed(path: vocabPath, reason: "not valid JSON")
        }
        guard let dict = object as? [String: Any] else {
            throw CLIPError.tokenizerFileMalformed(path: vocabPath, reason: "not a JSON object of symbol → id")
        }
        var encoder = [String: Int](minimumCapacity: dict.count)
        for (symbol, value) in dict {
            guard let number = value as? NSNumber, let id = Int(exactly: number.doubleValue), id >= 0 else {
                throw CLIPError.tokenizerFileMalformed(
                    path: vocabPath, reason: "id of \(symbol.debugDescription) is not a non-negative integer")
            }
            encoder[symbol] = id
        }

        let mergesData = try read(mergesURL)
        guard let text = String(data: mergesData, encoding: .utf8) else {
            throw CLIPError.tokenizerFileMalformed(path: mergesPath, reason: "not UTF-8 text")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var firstLineNumber = 1
        if let first = lines.first, first.hasPrefix("#") {
            lines.removeFirst()
            firstLineNumber = 2
        }
        while let last = lines.last, last.allSatisfy(\.isWhitespace) { lines.removeLast() }
        guard !lines.isEmpty else {
            throw CLIPError.tokenizerFileMalformed(path: mergesPath, reason: "has no merges")
        }
        let used = lines.prefix(mergeCount)
        let merges = try parseMerges(used, firstLineNumber: firstLineNumber, path: mergesPath)
        return try Vocabulary(encoder: encoder, merges: merges, mergesFile: mergesPath, vocabFile: vocabPath)
    }

    // MARK: - Helpers

    private static func read(_ url: URL) throws -> Data {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CLIPError.tokenizerFileMissing(path: url.path)
        }
        do {
            return try Data(contentsOf: url)
        } catch {
            throw CLIPError.tokenizerFileMalformed(path: url.path, reason: "cannot be read")
        }
    }

    /// "left right" per line (split on whitespace, as Python's `str.split()`).
    private static func parseMerges<C: Collection>(_ lines: C, firstLineNumber: Int, path: String) throws
        -> [(String, String, line: Int)] where C.Element == Substring
    {
        var merges: [(String, String, line: Int)] = []
        merges.reserveCapacity(lines.count)
        for (offset, line) in lines.enumerated() {
            let parts = line.split(whereSeparator: { $0.isWhitespace })
            guard parts.count == 2 else {
                throw CLIPError.tokenizerFileMalformed(
                    path: path,
                    reason: "line \(firstLineNumber + offset): expected two symbols, found \(parts.count)")
            }
            merges.append((String(parts[0]), String(parts[1]), line: firstLineNumber + offset))
        }
        return merges
    }
}
