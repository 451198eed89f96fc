import Foundation

// MARK: - Text cleaning before BPE

/// OpenAI's cleaning (`simple_tokenizer.py`): `whitespace_clean(basic_clean(text)).lower()`, where
/// `basic_clean` = `ftfy.fix_text` → `html.unescape` twice → `strip`, and `whitespace_clean` joins
/// the white-space-separated parts with single spaces. Python's definitions throughout
/// (`str.isspace`, `str.lower` with the final-sigma rule).
///
/// Known departures from the Python reference (none shows up in the test corpus):
/// - NFC comes from Foundation (its Unicode version, not Python 3.11's Unicode 14), so characters
///   assigned after Unicode 14 that compose may normalize differently.
/// - The final-sigma context and `\w` in ftfy's heuristic use this Swift runtime's Unicode
///   properties (cased, case-ignorable, alphanumeric), not Python's.
/// - ftfy's `fix_surrogates` has nothing to do: a Swift `String` cannot hold lone surrogates
///   (they become U+FFFD when the bytes are decoded, before the tokenizer sees them).
enum TextCleaner {
    static func clean(_ text: String) -> String {
        var s = Array(text.unicodeScalars)
        s = Ftfy.fixText(s)
        s = HTMLUnescape.pythonUnescape(HTMLUnescape.pythonUnescape(s))
        // strip() is implied by the split/join below.
        s = collapseWhitespace(s)
        s = lowercased(s)
        var view = String.UnicodeScalarView()
        view.append(contentsOf: s)
        return String(view)
    }

    /// `" ".join(text.split())`.
    static func collapseWhitespace(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var pendingSpace = false
        for c in s {
            if PythonText.isSpace(c) {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.append(c)
            }
        }
        return out
    }

    /// Python's lower-case mappings (generated, so they follow Python's Unicode version).
    private static let lowercaseMap: [UInt32: [Unicode.Scalar]] = {
        var map: [UInt32: [Unicode.Scalar]] = [:]
        for entry in CleanerTables.pythonLowercase.split(separator: " ") {
            let parts = entry.split(separator: "=")
            map[UInt32(parts[0], radix: 16)!] = parts[1].split(separator: "+").map {
                Unicode.Scalar(UInt32($0, radix: 16)!)!
            }
        }
        return map
    }()

    /// `str.lower()`: full lower-case mappings, and Σ → ς at the end of a word (Final_Sigma).
    static func lowercased(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        for (i, c) in s.enumerated() {
            let v = c.value
            if v < 0x80 {
                out.append(v >= 0x41 && v <= 0x5A ? Unicode.Scalar(v + 0x20)! : c)
            } else if v == 0x3A3 {
                out.append(isFinalSigma(s, at: i) ? "\u{3C2}" : "\u{3C3}")
            } else if let mapped = lowercaseMap[v] {
                out.append(contentsOf: mapped)
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// CPython's `handle_capital_sigma`: preceded by a cased letter (skipping case-ignorables) and
    /// not followed by one.
    private static func isFinalSigma(_ s: [Unicode.Scalar], at i: Int) -> Bool {
        var j = i - 1
        while j >= 0, s[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0, s[j].properties.isCased else { return false }
        var k = i + 1
        while k < s.count, s[k].properties.isCaseIgnorable { k += 1 }
        return k == s.count || !s[k].properties.isCased
    }
}

// MARK: - ftfy.fix_text with its default configuration

/// ftfy 6.3.1's `fix_text` (https://github.com/rspeer/python-ftfy): line by line, until nothing
/// changes: unescape HTML entities (unless the text has a "<"), fix mojibake, C1 controls,
/// Latin ligatures, character width, curly quotes, line breaks, terminal escapes, control
/// characters, then NFC.
enum Ftfy {
    /// ftfy's `max_decode_length`: longer lines are fixed in pieces of this many characters.
    static let maxDecodeLength = 1_000_000

    static func fixText(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var unescapeHTML = true  // "auto": off from the first segment holding a "<" onwards
        var pos = 0
        while pos < text.count {
            var end = (text[pos...].firstIndex(of: "\n") ?? (text.count - 1)) + 1
            if end - pos > maxDecodeLength { end = pos + maxDecodeLength }
            let segment = Array(text[pos..<end])
            if unescapeHTML, segment.contains("<") { unescapeHTML = false }
            out.append(contentsOf: fixSegment(segment, unescapeHTML: unescapeHTML))
            pos = end
        }
        return out
    }

    /// Passes of `fixSegment` at most. ftfy repeats until nothing changes; each pass peels one layer
    /// of nested entities (`&amp;amp;...`), so a crafted text would cost passes x length. Real text
    /// settles in two or three; past 16 layers we stop where ftfy would go on.
    static let maxFixPasses = 16

    /// `fix_and_explain` for one segment.
    static func fixSegment(_ segment: [Unicode.Scalar], unescapeHTML: Bool) -> [Unicode.Scalar] {
        var text = segment
        for _ in 0..<maxFixPasses {
            let original = text
            if unescapeHTML { text = HTMLUnescape.ftfyUnescape(text) }
            text = MojibakeFixer.fixEncoding(text)
            text = MojibakeFixer.fixC1Controls(text)
            text = translate(text, ligatures)
            text = translate(text, widths)
            text = uncurlQuotes(text)
            text = fixLineBreaks(text)
            // fix_surrogates: Swift strings cannot hold lone surrogates; nothing to do.
            text = removeTerminalEscapes(text)
            text = text.filter { !isRemovedControl($0) }
            text = nfc(text)
            if text == original { return text }
        }
        return text
    }

    // MARK: - Single fixes

    static let ligatures: [UInt32: [Unicode.Scalar]] = parseMap(CleanerTables.ligatures)
    static let widths: [UInt32: [Unicode.Scalar]] = parseMap(CleanerTables.widthMap)

    private static func parseMap(_ blob: String) -> [UInt32: [Unicode.Scalar]] {
        var map: [UInt32: [Unicode.Scalar]] = [:]
        for entry in blob.split(separator: " ") {
            let parts = entry.split(separator: "=")
            map[UInt32(parts[0], radix: 16)!] = parts[1].split(separator: "+").map {
                Unicode.Scalar(UInt32($0, radix: 16)!)!
            }
        }
        return map
    }

    private static func translate(_ s: [Unicode.Scalar], _ map: [UInt32: [Unicode.Scalar]]) -> [Unicode.Scalar] {
        guard s.contains(where: { map[$0.value] != nil }) else { return s }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        for c in s {
            if let r = map[c.value] { out.append(contentsOf: r) } else { out.append(c) }
        }
        return out
    }

    /// U+02BC and U+2018...U+201B → "'", U+201C...U+201F → '"'.
    private static func uncurlQuotes(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        s.map { c in
            switch c.value {
            case 0x02BC, 0x2018...0x201B: return "'"
            case 0x201C...0x201F: return "\""
            default: return c
            }
        }
    }

    /// CRLF, CR, U+2028, U+2029 and U+0085 → LF.
    private static func fixLineBreaks(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            switch s[i].value {
            case 0x0D:
                out.append("\n")
                if i + 1 < s.count, s[i + 1] == "\n" { i += 1 }
            case 0x2028, 0x2029, 0x85:
                out.append("\n")
            default:
                out.append(s[i])
            }
            i += 1
        }
        return out
    }

    /// ANSI escapes `\x1b\[((?:\d|;)*)([a-zA-Z])` (`\d` = any decimal digit, as in Python).
    private static func removeTerminalEscapes(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains("\u{1B}") else { return s }
        var out: [Unicode.Scalar] = []
        var i = 0
        while i < s.count {
            if s[i] == "\u{1B}", i + 1 < s.count, s[i + 1] == "[" {
                var j = i + 2
                while j < s.count, s[j] == ";" || s[j].properties.generalCategory == .decimalNumber { j += 1 }
                if j < s.count, s[j].isASCII, s[j].properties.isAlphabetic {
                    i = j + 1
                    continue
                }
            }
            out.append(s[i])
            i += 1
        }
        return out
    }

    /// `chardata.CONTROL_CHARS`.
    private static func isRemovedControl(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x00...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x206A...0x206F, 0xFEFF, 0xFFF9...0xFFFC:
            return true
        default:
            return false
        }
    }

    /// Unicode NFC (text below U+0300 is always in NFC already).
    static func nfc(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains(where: { $0.value >= 0x300 }) else { return s }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: composeHangul(s))
        return Array(String(view).precomposedStringWithCanonicalMapping.unicodeScalars)
    }

    /// Hangul syllable composition (L + V → LV, LV + T → LVT), done here because Foundation's NFC
    /// on Linux leaves a precomposed LV syllable followed by a T jamo apart. Jamo are starters, so
    /// only adjacent pairs compose, and composing them first does not change the rest of NFC.
    private static func composeHangul(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains(where: { (0x1100...0x11FF).contains($0.value) }) else { return s }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        for c in s {
            if let last = out.last {
                let l = last.value
                let v = c.value
                if (0x1100...0x1112).contains(l), (0x1161...0x1175).contains(v) {
                    out[out.count - 1] = Unicode.Scalar(0xAC00 + ((l - 0x1100) * 21 + (v - 0x1161)) * 28)!
                    continue
                }
                if (0xAC00...0xD7A3).contains(l), (l - 0xAC00) % 28 == 0, (0x11A8...0x11C2).contains(v) {
                    out[out.count - 1] = Unicode.Scalar(l + (v - 0x11A7))!
                    continue
                }
            }
            out.append(c)
        }
        return out
    }
}
