// MARK: - Splitting cleaned text into words

/// Splits cleaned text the way OpenAI's pattern does (DESIGN.md 2):
/// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
/// with `re.IGNORECASE`. A hand-written scanner over Unicode scalars: at each position the
/// alternatives are tried in that order, and a position where none matches (white space) is skipped.
enum PreTokenizer {
    enum Piece {
        case startOfText
        case endOfText
        /// A word to run through BPE: scalars `range` of the input.
        case word(Range<Int>)
    }

    static func split(_ scalars: [Unicode.Scalar]) -> [Piece] {
        var pieces: [Piece] = []
        var i = 0
        let n = scalars.count
        while i < n {
            let c = scalars[i]
            // Special tokens: only exactly as spelled (a case-folded spelling such as "<|ſtartoftext|>"
            // also matches the pattern, but OpenAI's cache then misses and it is BPE-encoded as text).
            if c == "<" {
                if let end = matchFolded(scalars, at: i, literal: startLiteral) {
                    pieces.append(isExact(scalars, i..<end, startLiteral) ? .startOfText : .word(i..<end))
                    i = end
                    continue
                }
                if let end = matchFolded(scalars, at: i, literal: endLiteral) {
                    pieces.append(isExact(scalars, i..<end, endLiteral) ? .endOfText : .word(i..<end))
                    i = end
                    continue
                }
            }
            if c == "'" {
                var matched: Int? = nil
                for suffix in contractions {
                    if let end = matchFolded(scalars, at: i, literal: suffix) {
                        matched = end
                        break
                    }
                }
                if let end = matched {
                    pieces.append(.word(i..<end))
                    i = end
                    continue
                }
            }
            switch characterClass(c) {
            case .letter:
                var j = i + 1
                while j < n, characterClass(scalars[j]) == .letter { j += 1 }
                pieces.append(.word(i..<j))
                i = j
            case .number:
                pieces.append(.word(i..<(i + 1)))
                i += 1
            case .other:
                var j = i + 1
                while j < n, characterClass(scalars[j]) == .other { j += 1 }
                pieces.append(.word(i..<j))
                i = j
            case .space:
                i += 1
            }
        }
        return pieces
    }

    // MARK: - Character classes

    enum CharacterClass { case letter, number, space, other }

    /// Which alternative of the pattern a character belongs to: `[\p{L}]`, `[\p{N}]`,
    /// `[^\s\p{L}\p{N}]`, or none (white space). Taken from the `regex` module's own tables
    /// (CleanerTables, generated), so it does not depend on the Unicode version of this Swift
    /// runtime; that includes U+0345, which case-folds to ι and so, under IGNORECASE, matches none.
    @inline(__always)
    static func characterClass(_ c: Unicode.Scalar) -> CharacterClass {
        let v = c.value
        if v < 0x80 { return asciiClasses[Int(v)] }
        if v < 0x10000 { return bmpClasses[Int(v)] }
        return astralClasses.lookup(v)
    }

    /// Class of every BMP code point (64 KB), built once from the generated ranges.
    private static let bmpClasses: [CharacterClass] = {
        var table = [CharacterClass](repeating: .other, count: 0x10000)
        for v in 0..<0x80 { table[v] = asciiClasses[v] }
        for (ranges, cls) in classRanges {
            for r in ranges where r.lowerBound < 0x10000 {
                for v in r.lowerBound...min(r.upperBound, 0xFFFF) { table[Int(v)] = cls }
            }
        }
        return table
    }()

    private static let classRanges: [([ClosedRange<UInt32>], CharacterClass)] = [
        (ScalarSet.parseRanges(Substring(CleanerTables.patternLetters)), .letter),
        (ScalarSet.parseRanges(Substring(CleanerTables.patternNumbers)), .number),
        (ScalarSet.parseRanges(Substring(CleanerTables.patternSkipped)), .space),
    ]

    /// Sorted ranges above the BMP, searched by bisection.
    private struct RangeTable {
        var starts: [UInt32] = []
        var ends: [UInt32] = []
        var classes: [CharacterClass] = []

        func lookup(_ v: UInt32) -> CharacterClass {
            var lo = 0
            var hi = starts.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if ends[mid] < v { lo = mid + 1 } else { hi = mid }
            }
            return lo < starts.count && starts[lo] <= v ? classes[lo] : .other
        }
    }

    private static let astralClasses: RangeTable = {
        var all: [(ClosedRange<UInt32>, CharacterClass)] = []
        for (ranges, cls) in classRanges {
            for r in ranges where r.upperBound >= 0x10000 {
                all.append((max(r.lowerBound, 0x10000)...r.upperBound, cls))
            }
        }
        all.sort { $0.0.lowerBound < $1.0.lowerBound }
        var table = RangeTable()
        for (r, cls) in all {
            table.starts.append(r.lowerBound)
            table.ends.append(r.upperBound)
            table.classes.append(cls)
        }
        return table
    }()

    private static let asciiClasses: [CharacterClass] = (0..<128).map { v in
        let c = Unicode.Scalar(UInt8(v))
        if (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") { return .letter }
        if c >= "0" && c <= "9" { return .number }
        if (0x09...0x0D).contains(v) || v == 0x20 { return .space }
        return .other
    }

    // MARK: - Literals matched case-insensitively

    private static let startLiteral = Array("<|startoftext|>".unicodeScalars)
    private static let endLiteral = Array("<|endoftext|>".unicodeScalars)
    private static let contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map { Array($0.unicodeScalars) }

    /// Matches an ASCII literal under the `regex` module's simple case folding: ASCII letters in
    /// either case, and U+017F LATIN SMALL LETTER LONG S for "s" (the only other scalar that folds
    /// onto a letter of these literals).
    private static func matchFolded(_ s: [Unicode.Scalar], at start: Int, literal: [Unicode.Scalar]) -> Int? {
        guard start + literal.count <= s.count else { return nil }
        for (k, l) in literal.enumerated() {
            let c = s[start + k]
            if c == l { continue }
            if l.value >= 0x61, l.value <= 0x7A {
                if c.value == l.value - 0x20 { continue }
                if l == "s", c.value == 0x17F { continue }
            }
            return nil
        }
        return start + literal.count
    }

    private static func isExact(_ s: [Unicode.Scalar], _ range: Range<Int>, _ literal: [Unicode.Scalar]) -> Bool {
        s[range].elementsEqual(literal)
    }
}
