// MARK: - Character sets and fixed-length patterns for the ftfy heuristics

/// A set of Unicode scalars as in a Python `re` character class: sorted ranges, optionally with
/// `\s` and `\w` (Python's Unicode meanings), optionally negated.
struct ScalarSet: Sendable {
    var ranges: [ClosedRange<UInt32>]
    var negated = false
    var space = false
    var word = false

    /// Parses "<flags>:<ranges>" as written by tools/make_tokenizer_tables.py.
    init(spec: Substring) {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let flags = parts[0]
        negated = flags.contains("n")
        space = flags.contains("s")
        word = flags.contains("w")
        ranges = parts.count > 1 ? ScalarSet.parseRanges(parts[1]) : []
    }

    init(ranges: [ClosedRange<UInt32>]) {
        self.ranges = ranges.sorted { $0.lowerBound < $1.lowerBound }
    }

    static func parseRanges(_ text: Substring) -> [ClosedRange<UInt32>] {
        text.split(separator: ",").map { item in
            let bounds = item.split(separator: "-").map { UInt32($0, radix: 16)! }
            return bounds[0]...bounds[bounds.count - 1]
        }.sorted { $0.lowerBound < $1.lowerBound }
    }

    func contains(_ c: Unicode.Scalar) -> Bool {
        var found = false
        let v = c.value
        var lo = 0
        var hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound < v {
                lo = mid + 1
            } else {
                hi = mid
            }
        }
        if lo < ranges.count, ranges[lo].contains(v) { found = true }
        if !found, space, PythonText.isSpace(c) { found = true }
        if !found, word, PythonText.isWordCharacter(c) { found = true }
        return found != negated
    }
}

/// One alternative of a regular expression made only of single-character items
/// (ftfy's `BADNESS_RE` is a list of these).
struct ScalarSequencePattern: Sendable {
    enum Item: Sendable {
        case set(ScalarSet)
        case optional(ScalarSet)
        case startOfText
        case anyButNewline
    }

    var items: [Item]

    /// Parses one alternative as written by tools/make_tokenizer_tables.py.
    init(spec: String) {
        items = spec.split(separator: " ").map { token in
            if token == "^" { return .startOfText }
            if token == "." { return .anyButNewline }
            if token.hasPrefix("?C") { return .optional(ScalarSet(spec: token.dropFirst(2))) }
            precondition(token.hasPrefix("C"), "bad pattern item \(token)")
            return .set(ScalarSet(spec: token.dropFirst()))
        }
    }

    /// Whether the pattern matches starting exactly at `start`.
    func matches(_ s: [Unicode.Scalar], at start: Int) -> Bool {
        match(s, item: 0, at: start)
    }

    private func match(_ s: [Unicode.Scalar], item k: Int, at i: Int) -> Bool {
        if k == items.count { return true }
        switch items[k] {
        case .startOfText:
            return i == 0 && match(s, item: k + 1, at: i)
        case .anyButNewline:
            return i < s.count && s[i] != "\n" && match(s, item: k + 1, at: i + 1)
        case .set(let set):
            return i < s.count && set.contains(s[i]) && match(s, item: k + 1, at: i + 1)
        case .optional(let set):
            // Greedy, as `?` in Python: with the character first, then without.
            if i < s.count, set.contains(s[i]), match(s, item: k + 1, at: i + 1) { return true }
            return match(s, item: k + 1, at: i)
        }
    }
}

// MARK: - Python's string predicates

enum PythonText {
    /// `str.isspace()` (also `\s` in Python's `re`): White_Space plus the separators U+001C...U+001F.
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `\w` in Python's `re` for text: `str.isalnum()` or "_".
    static func isWordCharacter(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 {
            let v = c.value
            return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x5F
        }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return true
        default:
            return c.properties.numericType != nil
        }
    }
}

// MARK: - Byte patterns (ftfy's regular expressions over encoded bytes)

/// A set of bytes.
struct ByteSet: Sendable {
    private var bits: [Bool]

    init(_ ranges: ClosedRange<UInt8>...) {
        bits = [Bool](repeating: false, count: 256)
        for r in ranges { for b in r { bits[Int(b)] = true } }
    }

    func contains(_ b: UInt8) -> Bool { bits[Int(b)] }
}

/// A regular expression over bytes that is an alternation of fixed-length sequences of byte sets.
struct BytePattern: Sendable {
    var alternatives: [[ByteSet]]

    /// Length of the first alternative that matches at `i`, if any.
    func matchLength(_ bytes: [UInt8], at i: Int) -> Int? {
        outer: for alternative in alternatives {
            guard i + alternative.count <= bytes.count else { continue }
            for (k, set) in alternative.enumerated() where !set.contains(bytes[i + k]) {
                continue outer
            }
            return alternative.count
        }
        return nil
    }

    func firstMatch(in bytes: [UInt8]) -> Bool {
        for i in bytes.indices where matchLength(bytes, at: i) != nil { return true }
        return false
    }

    /// Python's `pattern.sub(replace, bytes)`: leftmost, non-overlapping matches.
    func substitute(in bytes: [UInt8], _ replace: (ArraySlice<UInt8>) -> [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if let len = matchLength(bytes, at: i) {
                out.append(contentsOf: replace(bytes[i..<(i + len)]))
                i += len
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }
}
