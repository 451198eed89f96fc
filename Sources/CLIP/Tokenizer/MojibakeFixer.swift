// MARK: - Mojibake: ftfy's fix_encoding

/// ftfy 6.3.1's `fix_encoding` (https://github.com/rspeer/python-ftfy, `ftfy/__init__.py`):
/// when the text looks like mojibake (`badness.is_bad`), re-encode it in the first single-byte code
/// page that can represent it and decode the bytes as UTF-8; else fix embedded UTF-8 mojibake,
/// Latin-1 C1 controls meant as Windows-1252, and so on, until nothing changes.
enum MojibakeFixer {
    // MARK: - Tables

    struct Charmap {
        let name: String
        /// scalar → byte for the non-ASCII part (and U+FFFD → 0x1A in the sloppy code pages).
        let encode: [UInt32: UInt8]
        /// Whether 0x1A is free (the sloppy code pages use it for U+FFFD instead).
        let asciiSubstituteAllowed: Bool
        var isSloppy: Bool { name.hasPrefix("sloppy") }
    }

    static let charmaps: [Charmap] = CleanerTables.charmaps.map { entry in
        var encode: [UInt32: UInt8] = [:]
        for (k, hex) in entry.high.split(separator: " ").enumerated() {
            encode[UInt32(hex, radix: 16)!] = UInt8(0x80 + k)
        }
        let sub = UInt32(entry.sub, radix: 16)!
        if sub != 0x1A { encode[sub] = 0x1A }
        return Charmap(name: entry.name, encode: encode, asciiSubstituteAllowed: sub == 0x1A)
    }

    /// Windows-1252 proper (bytes 0x81, 0x8D, 0x8F, 0x90, 0x9D undefined): byte → scalar for 0x80...0x9F.
    private static let sloppy1252: Charmap = charmaps.first { $0.name == "sloppy-windows-1252" }!
    private static let sloppy1252Decode: [UInt8: UInt32] = Dictionary(
        uniqueKeysWithValues: sloppy1252.encode.map { ($0.value, $0.key) })

    static let badness: [ScalarSequencePattern] = CleanerTables.badness.map { ScalarSequencePattern(spec: $0) }

    static let firstOf2 = ScalarSet(spec: Substring(CleanerTables.utf8FirstOf2))
    static let firstOf3 = ScalarSet(spec: Substring(CleanerTables.utf8FirstOf3))
    static let firstOf4 = ScalarSet(spec: Substring(CleanerTables.utf8FirstOf4))
    static let continuation = ScalarSet(spec: Substring(CleanerTables.utf8Continuation))
    static let continuationStrict = ScalarSet(spec: Substring(CleanerTables.utf8ContinuationStrict))

    // MARK: - Heuristic

    /// `ftfy.badness.is_bad`: some alternative of `BADNESS_RE` matches somewhere.
    static func isBad(_ s: [Unicode.Scalar]) -> Bool {
        for i in 0..<max(s.count, 1) {
            for pattern in badness where pattern.matches(s, at: i) { return true }
        }
        return false
    }

    // MARK: - fix_encoding

    /// Until nothing changes, as ftfy, but at most `Ftfy.maxFixPasses` steps.
    static func fixEncoding(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var text = text
        for _ in 0..<Ftfy.maxFixPasses {
            let fixed = fixOneStep(text)
            if fixed == text { return text }
            text = fixed
        }
        return text
    }

    /// `_fix_encoding_one_step_and_explain`.
    static func fixOneStep(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        if text.isEmpty || text.allSatisfy({ $0.isASCII }) || !isBad(text) { return text }

        var possible: [String] = []
        for charmap in charmaps {
            guard var bytes = encode(text, charmap) else { continue }
            possible.append(charmap.name)
            if charmap.name != "macroman", alteredUTF8.firstMatch(in: bytes) {
                bytes = restoreByteA0(bytes)
            }
            if charmap.isSloppy {
                bytes = lossyUTF8.substitute(in: bytes) { _ in [0xEF, 0xBF, 0xBD] }
            }
            let variants = bytes.contains(0xED) || bytes.contains(0xC0)
            if let decoded = UTF8Decoding.decode(bytes, variants: variants) { return decoded }
        }

        if hasEmbeddedUTF8(text) {
            let fixed = decodeInconsistentUTF8(text)
            if fixed != text { return fixed }
        }

        // ftfy checks `"windows-1252" in possible_1byte_encodings`, which is never true (the list
        // holds "sloppy-windows-1252"), so Latin-1 text always gets this strict re-decode.
        if possible.contains("latin-1") {
            if let fixed = latin1AsWindows1252(text), fixed != text { return fixed }
        }
        if text.contains(where: { (0x80...0x9F).contains($0.value) }) {
            return fixC1Controls(text)
        }
        return text
    }

    /// The bytes of `text` in a code page, or nil when some character is not in it
    /// (`chardata.possible_encoding` + `str.encode`).
    static func encode(_ text: [Unicode.Scalar], _ charmap: Charmap) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count)
        for c in text {
            let v = c.value
            if v < 0x80, v != 0x1A || charmap.asciiSubstituteAllowed {
                bytes.append(UInt8(v))
            } else if let b = charmap.encode[v] {
                bytes.append(b)
            } else {
                return nil
            }
        }
        return bytes
    }

    /// Strict Windows-1252 decode of Latin-1 text: nil if it holds a byte Windows-1252 leaves undefined.
    private static func latin1AsWindows1252(_ text: [Unicode.Scalar]) -> [Unicode.Scalar]? {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        for c in text {
            if (0x80...0x9F).contains(c.value) {
                let mapped = sloppy1252Decode[UInt8(c.value)]!
                if mapped == c.value { return nil }  // 0x81, 0x8D, 0x8F, 0x90, 0x9D
                out.append(Unicode.Scalar(mapped)!)
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// `fixes.fix_c1_controls`: each U+0080...U+009F as its sloppy Windows-1252 character.
    static func fixC1Controls(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        text.map { c in
            guard (0x80...0x9F).contains(c.value) else { return c }
            return Unicode.Scalar(sloppy1252Decode[UInt8(c.value)]!)!
        }
    }

    // MARK: - Byte-level repairs

    private static let cont = ByteSet(0x80...0xBF)
    private static let contNotA0or85 = ByteSet(0x80...0x84, 0x86...0x9F, 0xA1...0xBF)
    private static let space = ByteSet(0x20...0x20)

    /// `chardata.ALTERED_UTF8_RE`: UTF-8 sequences whose byte 0xA0 became a space.
    static let alteredUTF8 = BytePattern(alternatives: [
        [ByteSet(0xC2...0xC3, 0xC5...0xC5, 0xCE...0xCE, 0xD0...0xD0, 0xD9...0xD9), space],
        [ByteSet(0xE2...0xE3), space, contNotA0or85],
        [ByteSet(0xE0...0xE3), contNotA0or85, space],
        [ByteSet(0xF0...0xF0), space, cont, cont],
        [ByteSet(0xF0...0xF0), cont, space, cont],
        [ByteSet(0xF0...0xF0), cont, cont, space],
    ])

    /// `fixes.restore_byte_a0`.
    static func restoreByteA0(_ bytes: [UInt8]) -> [UInt8] {
        // A_GRAVE_WORD_RE: b"\xc3 (?! |quele|quela|quilo|s )" → b"\xc3\xa0 " ("Ã la" is "à la").
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 4)
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0xC3, i + 1 < bytes.count, bytes[i + 1] == 0x20, !aGraveException(bytes, after: i + 2) {
                out.append(contentsOf: [0xC3, 0xA0, 0x20])
                i += 2
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return alteredUTF8.substitute(in: out) { match in match.map { $0 == 0x20 ? 0xA0 : $0 } }
    }

    private static func aGraveException(_ bytes: [UInt8], after i: Int) -> Bool {
        for word in [" ", "quele", "quela", "quilo", "s "] {
            let w = Array(word.utf8)
            if i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w { return true }
        }
        return false
    }

    /// `chardata.LOSSY_UTF8_RE`: UTF-8 sequences with bytes lost to U+FFFD (0x1A) or "?".
    static let lossyUTF8: BytePattern = {
        let sub = ByteSet(0x1A...0x1A)
        let subOrQ = ByteSet(0x1A...0x1A, 0x3F...0x3F)
        let subOrCont = ByteSet(0x1A...0x1A, 0x80...0xBF)
        let subOrQOrCont = ByteSet(0x1A...0x1A, 0x3F...0x3F, 0x80...0xBF)
        let ed = ByteSet(0xED...0xED)
        let e = ByteSet(0xE0...0xEF)
        let f = ByteSet(0xF0...0xF4)
        return BytePattern(alternatives: [
            [ByteSet(0xC2...0xDF), sub],
            [ByteSet(0xC2...0xC3), ByteSet(0x3F...0x3F)],
            [ed, ByteSet(0xA0...0xAF), subOrQ, ed, ByteSet(0xB0...0xBF), subOrQOrCont],
            [ed, ByteSet(0xA0...0xAF), subOrQOrCont, ed, ByteSet(0xB0...0xBF), subOrQ],
            [e, subOrQ, subOrCont],
            [e, subOrCont, subOrQ],
            [f, subOrQ, subOrCont, subOrCont],
            [f, subOrCont, subOrQ, subOrCont],
            [f, subOrCont, subOrCont, subOrQ],
            [sub],
        ])
    }()

    // MARK: - Embedded UTF-8 mojibake

    /// `chardata.UTF8_DETECTOR_RE`:
    /// `(?<![continuation_strict])([first_of_2][cont]|[first_of_3][cont]{2}|[first_of_4][cont]{3})+`.
    /// The end of the match starting at `i`, if one does.
    private static func utf8DetectorMatch(_ s: [Unicode.Scalar], at i: Int) -> Int? {
        if i > 0, continuationStrict.contains(s[i - 1]) { return nil }
        var j = i
        while true {
            guard let end = oneSequence(s, at: j) else { break }
            j = end
        }
        return j > i ? j : nil
    }

    private static func oneSequence(_ s: [Unicode.Scalar], at i: Int) -> Int? {
        guard i < s.count else { return nil }
        for (lead, length) in [(firstOf2, 1), (firstOf3, 2), (firstOf4, 3)] where lead.contains(s[i]) {
            guard i + length < s.count else { continue }
            if (1...length).allSatisfy({ continuation.contains(s[i + $0]) }) { return i + length + 1 }
        }
        return nil
    }

    static func hasEmbeddedUTF8(_ s: [Unicode.Scalar]) -> Bool {
        s.indices.contains { utf8DetectorMatch(s, at: $0) != nil }
    }

    /// `fixes.decode_inconsistent_utf8`: fix each detected run on its own when it is shorter than
    /// the text and looks bad.
    static func decodeInconsistentUTF8(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        var i = 0
        while i < text.count {
            if let end = utf8DetectorMatch(text, at: i) {
                let piece = Array(text[i..<end])
                if piece.count < text.count, isBad(piece) {
                    out.append(contentsOf: fixEncoding(piece))
                } else {
                    out.append(contentsOf: piece)
                }
                i = end
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }
}

// MARK: - Strict UTF-8 decoding (and ftfy's "utf-8-variants")

enum UTF8Decoding {
    /// Python's strict UTF-8 decoder; with `variants`, also CESU-8 surrogate pairs and Java's
    /// 0xC0 0x80 for U+0000 (ftfy's `utf-8-variants` codec). Nil on any invalid sequence.
    static func decode(_ b: [UInt8], variants: Bool) -> [Unicode.Scalar]? {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(b.count)
        var i = 0
        let n = b.count
        func isCont(_ k: Int) -> Bool { k < n && b[k] & 0xC0 == 0x80 }
        while i < n {
            let x = b[i]
            if x < 0x80 {
                out.append(Unicode.Scalar(x))
                i += 1
                continue
            }
            if variants {
                if x == 0xC0, i + 1 < n, b[i + 1] == 0x80 {
                    out.append("\u{0}")
                    i += 2
                    continue
                }
                if x == 0xED, i + 5 < n, (0xA0...0xAF).contains(b[i + 1]), isCont(i + 2), b[i + 3] == 0xED,
                    (0xB0...0xBF).contains(b[i + 4]), isCont(i + 5)
                {
                    let v = (UInt32(b[i + 1] & 0x0F) << 16) + (UInt32(b[i + 2] & 0x3F) << 10)
                        + (UInt32(b[i + 4] & 0x0F) << 6) + UInt32(b[i + 5] & 0x3F) + 0x10000
                    out.append(Unicode.Scalar(v)!)
                    i += 6
                    continue
                }
            }
            var v: UInt32
            var length: Int
            var secondRange: ClosedRange<UInt8> = 0x80...0xBF
            switch x {
            case 0xC2...0xDF: v = UInt32(x & 0x1F); length = 2
            case 0xE0: v = UInt32(x & 0x0F); length = 3; secondRange = 0xA0...0xBF
            case 0xE1...0xEC, 0xEE...0xEF: v = UInt32(x & 0x0F); length = 3
            case 0xED: v = UInt32(x & 0x0F); length = 3; secondRange = 0x80...0x9F
            case 0xF0: v = UInt32(x & 0x07); length = 4; secondRange = 0x90...0xBF
            case 0xF1...0xF3: v = UInt32(x & 0x07); length = 4
            case 0xF4: v = UInt32(x & 0x07); length = 4; secondRange = 0x80...0x8F
            default: return nil
            }
            guard i + length <= n, secondRange.contains(b[i + 1]) else { return nil }
            for k in 1..<length {
                guard isCont(i + k) else { return nil }
                v = v << 6 | UInt32(b[i + k] & 0x3F)
            }
            out.append(Unicode.Scalar(v)!)
            i += length
        }
        return out
    }
}
