// MARK: - HTML character references

/// The two HTML unescapers CLIP's cleaning uses: Python's `html.unescape` (applied twice by
/// `basic_clean`) and ftfy's stricter `unescape_html` (inside `ftfy.fix_text`).
enum HTMLUnescape {
    /// `html.entities.html5`: name (with or without the final ';') → characters.
    static let python: [String: [Unicode.Scalar]] = parseEntities(CleanerTables.pythonHTML5Entities)
    /// `ftfy.chardata.HTML_ENTITIES`: "&name;" → characters.
    static let ftfy: [String: [Unicode.Scalar]] = parseEntities(CleanerTables.ftfyEntities)

    private static func parseEntities(_ blob: String) -> [String: [Unicode.Scalar]] {
        var table: [String: [Unicode.Scalar]] = [:]
        for entry in blob.split(separator: " ") {
            let eq = entry.lastIndex(of: "=")!
            let value = entry[entry.index(after: eq)...].split(separator: "+").map {
                Unicode.Scalar(UInt32($0, radix: 16)!)!
            }
            table[String(entry[..<eq])] = value
        }
        return table
    }

    // MARK: - Python's html.unescape

    /// `html.unescape(s)` of Python 3.11: the regular expression
    /// `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)`, numeric references per HTML5
    /// (Windows-1252 for 0x80...0x9F, U+FFFD for surrogates and out-of-range values, nothing for
    /// other forbidden code points), and named references by longest known prefix.
    static func pythonUnescape(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains("&") else { return s }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        let n = s.count
        while i < n {
            guard s[i] == "&", i + 1 < n else {
                out.append(s[i])
                i += 1
                continue
            }
            var j = i + 1
            if s[j] == "#" {
                j += 1
                var hex = false
                if j < n, s[j] == "x" || s[j] == "X" {
                    hex = true
                    j += 1
                }
                let digitsStart = j
                while j < n, hex ? isHexDigit(s[j]) : isDigit(s[j]) { j += 1 }
                if j > digitsStart {
                    let value = number(s[digitsStart..<j], radix: hex ? 16 : 10)
                    if j < n, s[j] == ";" { j += 1 }
                    out.append(contentsOf: numericReference(value))
                    i = j
                    continue
                }
                // "&#" without digits: the named alternative excludes "#", so no reference here.
                out.append(s[i])
                i += 1
                continue
            }
            // Named: 1...32 characters other than \t \n \f space < & # ;, then an optional ';'.
            while j < n, j - (i + 1) < 32, !isNameStop(s[j]) { j += 1 }
            if j == i + 1 {
                out.append(s[i])
                i += 1
                continue
            }
            if j < n, s[j] == ";" { j += 1 }
            let name = s[(i + 1)..<j]
            out.append(contentsOf: namedReference(name))
            i = j
        }
        return out
    }

    private static func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }

    private static func isHexDigit(_ c: Unicode.Scalar) -> Bool {
        isDigit(c) || (c.value >= 0x41 && c.value <= 0x46) || (c.value >= 0x61 && c.value <= 0x66)
    }

    private static func isNameStop(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "\t", "\n", "\u{0C}", " ", "<", "&", "#", ";": return true
        default: return false
        }
    }

    /// The value, saturating just above U+10FFFF (anything larger behaves the same).
    private static func number(_ digits: ArraySlice<Unicode.Scalar>, radix: UInt32) -> UInt32 {
        var v: UInt32 = 0
        for d in digits {
            let x = d.value <= 0x39 ? d.value - 0x30 : (d.value | 0x20) - 0x61 + 10
            v = v * radix + x
            if v > 0x110000 { v = 0x110000 }
        }
        return v
    }

    /// Python's `_invalid_charrefs`: what HTML5 says numeric references 0x00, 0x0D, 0x80...0x9F mean.
    private static let invalidCharrefs: [UInt32: UInt32] = [
        0x00: 0xFFFD, 0x0D: 0x0D, 0x80: 0x20AC, 0x81: 0x81, 0x82: 0x201A, 0x83: 0x0192, 0x84: 0x201E,
        0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021, 0x88: 0x02C6, 0x89: 0x2030, 0x8A: 0x0160, 0x8B: 0x2039,
        0x8C: 0x0152, 0x8D: 0x8D, 0x8E: 0x017D, 0x8F: 0x8F, 0x90: 0x90, 0x91: 0x2018, 0x92: 0x2019,
        0x93: 0x201C, 0x94: 0x201D, 0x95: 0x2022, 0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02DC, 0x99: 0x2122,
        0x9A: 0x0161, 0x9B: 0x203A, 0x9C: 0x0153, 0x9D: 0x9D, 0x9E: 0x017E, 0x9F: 0x0178,
    ]

    private static func numericReference(_ v: UInt32) -> [Unicode.Scalar] {
        if let mapped = invalidCharrefs[v] { return [Unicode.Scalar(mapped)!] }
        if (0xD800...0xDFFF).contains(v) || v > 0x10FFFF { return ["\u{FFFD}"] }
        // Python's _invalid_codepoints: dropped.
        switch v {
        case 0x01...0x08, 0x0B, 0x0E...0x1F, 0x7F...0x9F, 0xFDD0...0xFDEF:
            return []
        default:
            if v & 0xFFFE == 0xFFFE { return [] }  // U+xFFFE and U+xFFFF of every plane
            return [Unicode.Scalar(v)!]
        }
    }

    private static func namedReference(_ name: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        if let value = python[string(name)] { return value }
        // The longest known prefix of at least 2 characters, followed by the rest as is.
        var x = name.count - 1
        while x > 1 {
            let prefix = name.prefix(x)
            if let value = python[string(prefix)] { return value + name.dropFirst(x) }
            x -= 1
        }
        return ["&"] + name
    }

    private static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    // MARK: - ftfy's unescape_html

    /// ftfy's `unescape_html`: only `&#?[0-9A-Za-z]{1,24};`, decoded when the whole reference is
    /// in ftfy's table or is a numeric reference that `html.unescape` decodes completely.
    static func ftfyUnescape(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains("&") else { return s }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        let n = s.count
        while i < n {
            if s[i] == "&" {
                var j = i + 1
                if j < n, s[j] == "#" { j += 1 }
                let start = j
                while j < n, isASCIIAlphanumeric(s[j]) { j += 1 }
                let run = j - start
                if run >= 1, run <= 24, j < n, s[j] == ";" {
                    let match = s[i...j]
                    out.append(contentsOf: ftfyFixup(match))
                    i = j + 1
                    continue
                }
            }
            out.append(s[i])
            i += 1
        }
        return out
    }

    private static func isASCIIAlphanumeric(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A)
    }

    private static func ftfyFixup(_ match: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        if let value = ftfy[string(match)] { return value }
        if match.count > 1, match[match.startIndex + 1] == "#" {
            let unescaped = pythonUnescape(Array(match))
            return unescaped.contains(";") ? Array(match) : unescaped
        }
        return Array(match)
    }
}
