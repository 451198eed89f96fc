import Foundation

// MARK: - Vocabulary: the id of every BPE symbol and the ranked merges

/// The symbol ids and merge ranks of a CLIP BPE vocabulary, however it was stored.
struct Vocabulary: Sendable {
    /// A merge of the pair (left, right): its rank (lower merges first) and the id of the result.
    struct Merge: Sendable {
        var rank: Int32
        var merged: Int32
    }

    /// Id of the symbol for byte `b` inside a word, and at the end of a word (`</w>`).
    var byteSymbol: [Int32]
    var byteSymbolAtEnd: [Int32]
    /// Pair (left id << 32 | right id) → merge.
    var merges: [UInt64: Merge]
    var startOfText: Int32
    var endOfText: Int32
    /// How many ids there are (the embedding table's row count).
    var size: Int

    static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Builds the tables from a symbol → id map and the merges in rank order, as OpenAI's
    /// `simple_tokenizer.py` does (a pair listed twice keeps its last rank).
    /// `file` names the file to blame when a symbol is missing.
    init(encoder: [String: Int], merges pairs: [(String, String, line: Int)], mergesFile: String, vocabFile: String) throws {
        func id(_ symbol: String, line: Int?) throws -> Int32 {
            guard let id = encoder[symbol], let id32 = Int32(exactly: id), id32 >= 0 else {
                if let line {
                    throw CLIPError.tokenizerFileMalformed(
                        path: mergesFile, reason: "line \(line): symbol \(symbol.debugDescription) is not in the vocabulary")
                }
                throw CLIPError.tokenizerFileMalformed(
                    path: vocabFile, reason: "symbol \(symbol.debugDescription) is missing")
            }
            return id32
        }
        byteSymbol = []
        byteSymbolAtEnd = []
        for b in 0..<256 {
            let c = String(ByteEncoder.characters[b])
            byteSymbol.append(try id(c, line: nil))
            byteSymbolAtEnd.append(try id(c + "</w>", line: nil))
        }
        var table = [UInt64: Merge](minimumCapacity: pairs.count)
        for (rank, pair) in pairs.enumerated() {
            let left = try id(pair.0, line: pair.line)
            let right = try id(pair.1, line: pair.line)
            let merged = try id(pair.0 + pair.1, line: pair.line)
            table[Self.pairKey(left, right)] = Merge(rank: Int32(rank), merged: merged)
        }
        self.merges = table
        startOfText = try id("<|startoftext|>", line: nil)
        endOfText = try id("<|endoftext|>", line: nil)
        size = (encoder.values.max() ?? -1) + 1
    }
}
