#!/usr/bin/env python3
"""Writes Sources/CLIP/Tokenizer/CleanerTables.swift: the data the Swift text cleaner needs to
reproduce OpenAI's `basic_clean` (ftfy 6.3.1 `fix_text` + Python's `html.unescape`), taken from
the reference libraries themselves rather than retyped:

- Python's HTML5 named character references (`html.entities.html5`, used by `html.unescape`),
- ftfy's own entity table (`ftfy.chardata.HTML_ENTITIES`: ';'-terminated names plus upper-case forms),
- the single-byte code pages ftfy tries when fixing mojibake (`ftfy.chardata.CHARMAP_ENCODINGS`),
- ftfy's mojibake heuristic (`ftfy.badness.BADNESS_RE`) as a list of alternatives of character sets,
- ftfy's UTF-8 clue sets (`ftfy.chardata.UTF8_CLUES`) and width map (`ftfy.chardata.WIDTH_MAP`),
- how OpenAI's split pattern (run by the `regex` module with IGNORECASE) classes every non-ASCII
  code point: letter run, single number, other run, or matched by nothing (white space, and
  U+0345 which case-folds to a letter), from the `regex` module's own Unicode tables,
- Python's `str.lower()` for every non-ASCII code point it changes (Python's Unicode version).

Re-run (from the repository root):
    python3 -m venv .venv && .venv/bin/pip install ftfy==6.3.1
    .venv/bin/pip install regex   # the `regex` module OpenAI's tokenizer uses
    .venv/bin/python tools/make_tokenizer_tables.py
"""
import html.entities
import os
import re
import sys
import warnings

import ftfy
import ftfy.badness
import ftfy.chardata
import regex

warnings.filterwarnings("ignore", category=DeprecationWarning)
import sre_constants  # noqa: E402
import sre_parse  # noqa: E402

assert ftfy.__version__ == "6.3.1", f"expected ftfy 6.3.1, found {ftfy.__version__}"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Sources", "CLIP", "Tokenizer", "CleanerTables.swift")


def hexs(text):
    return "+".join(f"{ord(c):X}" for c in text)


def swift_string(s):
    # Only ASCII goes into the literal; the tables are ASCII by construction.
    assert all(32 <= ord(c) < 127 and c not in '"\\' for c in s), s
    return '"' + s + '"'


def chunked_literal(items, sep=" "):
    """A Swift multi-line array of short string literals joined at run time."""
    lines, line = [], ""
    for item in items:
        if len(line) + len(item) + 1 > 100:
            lines.append(line)
            line = ""
        line += item + sep
    if line:
        lines.append(line)
    return "[\n" + "\n".join("        " + swift_string(l) + "," for l in lines) + "\n    ].joined()"


def ranges_of(codepoints):
    cps = sorted(set(codepoints))
    out, i = [], 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        out.append(f"{cps[i]:X}" if i == j else f"{cps[i]:X}-{cps[j]:X}")
        i = j + 1
    return ",".join(out)


# MARK: - character-set patterns (parsed by sre_parse, so nothing is retyped)

def encode_in(items):
    """An IN node → 'flags:ranges' (flags: n = negated, s = \\s, w = \\w)."""
    flags, cps = "", []
    for op, av in items:
        if op == sre_constants.LITERAL:
            cps.append(av)
        elif op == sre_constants.RANGE:
            cps.extend(range(av[0], av[1] + 1))
        elif op == sre_constants.NEGATE:
            flags += "n"
        elif op == sre_constants.CATEGORY and av == sre_constants.CATEGORY_SPACE:
            flags += "s"
        elif op == sre_constants.CATEGORY and av == sre_constants.CATEGORY_WORD:
            flags += "w"
        else:
            raise ValueError(f"unsupported class item {op} {av}")
    return f"{flags}:{ranges_of(cps)}"


def encode_item(op, av):
    if op == sre_constants.LITERAL:
        return f"C:{av:X}"
    if op == sre_constants.IN:
        return "C" + encode_in(av)
    if op == sre_constants.ANY:
        return "."
    if op == sre_constants.AT and av == sre_constants.AT_BEGINNING:
        return "^"
    if op == sre_constants.MAX_REPEAT and av[0] == 0 and av[1] == 1 and len(av[2].data) == 1:
        return "?" + encode_item(*av[2].data[0])
    raise ValueError(f"unsupported pattern item {op} {av}")


def badness_alternatives():
    tree = sre_parse.parse(ftfy.badness.BADNESS_RE.pattern, ftfy.badness.BADNESS_RE.flags)
    assert len(tree.data) == 1 and tree.data[0][0] == sre_constants.BRANCH
    alternatives = tree.data[0][1][1]
    return [" ".join(encode_item(op, av) for op, av in alt.data) for alt in alternatives]


def clue_set(name):
    # The UTF8_CLUES strings are regex class bodies (they contain ranges such as \x80-\xbf).
    parsed = sre_parse.parse(f"[{ftfy.chardata.UTF8_CLUES[name]}]")
    (op, av), = parsed.data
    assert op == sre_constants.IN
    return encode_in(av)


def split_pattern_classes():
    """Per non-ASCII code point: which alternative of OpenAI's pattern a lone character matches."""
    flags = regex.IGNORECASE
    letter = regex.compile(r"[\p{L}]", flags)
    number = regex.compile(r"[\p{N}]", flags)
    other = regex.compile(r"[^\s\p{L}\p{N}]", flags)
    classes = {"L": [], "N": [], "S": []}
    for c in range(0x80, 0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        ch = chr(c)
        if letter.match(ch):
            classes["L"].append(c)
        elif number.match(ch):
            classes["N"].append(c)
        elif not other.match(ch):
            classes["S"].append(c)
    return classes


def main():
    out = []
    w = out.append
    w("// Generated by tools/make_tokenizer_tables.py from Python's html.entities and ftfy 6.3.1. Do not edit.")
    w("// Data only: how the tables are used is in TextCleaner.swift, HTMLUnescape.swift and MojibakeFixer.swift.")
    w("")
    w("enum CleanerTables {")

    # Python's html.unescape table: name (with or without ';') → characters.
    entries = [f"{name}={hexs(value)}" for name, value in sorted(html.entities.html5.items())]
    w("    /// `html.entities.html5`: \"name=HEX+HEX\" separated by spaces (names may lack the ';').")
    w(f"    static let pythonHTML5Entities: String = {chunked_literal(entries)}")
    w("")

    # ftfy's table: '&name;' → characters, including upper-cased names.
    entries = [f"{name}={hexs(value)}" for name, value in sorted(ftfy.chardata.HTML_ENTITIES.items())]
    w("    /// `ftfy.chardata.HTML_ENTITIES`: \"&name;=HEX+HEX\" separated by spaces.")
    w(f"    static let ftfyEntities: String = {chunked_literal(entries)}")
    w("")

    # Code pages: what bytes 0x80...0xFF and 0x1A decode to.
    w("    /// ftfy's `CHARMAP_ENCODINGS` in trial order: name, then what bytes 0x80...0xFF decode to,")
    w("    /// then what byte 0x1A decodes to (U+FFFD in ftfy's sloppy code pages).")
    w("    static let charmaps: [(name: String, high: String, sub: String)] = [")
    for enc in ftfy.chardata.CHARMAP_ENCODINGS:
        decoded = bytes(range(256)).decode(enc)
        ascii_part = decoded[:0x1A] + decoded[0x1B:0x80]
        assert ascii_part == "".join(chr(b) for b in range(0x80) if b != 0x1A), enc
        high = " ".join(f"{ord(c):X}" for c in decoded[0x80:])
        # Each high character must be unique so that encoding is the inverse of decoding.
        assert len(set(decoded[0x80:])) == 128 and not (set(decoded[0x80:]) & set(decoded[:0x80])), enc
        w(f"        ({swift_string(enc)}, {chunked_literal(high.split(' '))}, \"{ord(decoded[0x1A]):X}\"),")
    w("    ]")
    w("")

    w("    /// `ftfy.badness.BADNESS_RE`, one alternative per entry: items separated by spaces;")
    w("    /// `C<flags>:<ranges>` a character set (flags n = negated, s = \\s, w = \\w), `?` prefix =")
    w("    /// optional, `^` = start of text, `.` = any character but a line feed.")
    w("    static let badness: [String] = [")
    for alt in badness_alternatives():
        w(f"        {swift_string(alt)},")
    w("    ]")
    w("")

    w("    /// `ftfy.chardata.UTF8_CLUES` as `<flags>:<ranges>` sets.")
    for name in ["utf8_first_of_2", "utf8_first_of_3", "utf8_first_of_4", "utf8_continuation", "utf8_continuation_strict"]:
        camel = re.sub(r"_(\w)", lambda m: m.group(1).upper(), name)
        w(f"    static let {camel}: String = {chunked_literal(clue_set(name).split(','), sep=',')}")
    w("")

    entries = [f"{k:X}={hexs(v)}" for k, v in sorted(ftfy.chardata.WIDTH_MAP.items())]
    w("    /// `ftfy.chardata.WIDTH_MAP`: \"HEX=HEX+HEX\" separated by spaces.")
    w(f"    static let widthMap: String = {chunked_literal(entries)}")
    w("")
    classes = split_pattern_classes()
    w(f"    /// OpenAI's split pattern under the `regex` module {regex.__version__} with IGNORECASE, for")
    w("    /// non-ASCII code points (anything not listed is an \"other\" character): ranges of letters,")
    w("    /// of numbers, and of characters no alternative matches (skipped like white space).")
    w(f"    static let patternLetters: String = {chunked_literal(ranges_of(classes['L']).split(','), sep=',')}")
    w(f"    static let patternNumbers: String = {chunked_literal(ranges_of(classes['N']).split(','), sep=',')}")
    w(f"    static let patternSkipped: String = {chunked_literal(ranges_of(classes['S']).split(','), sep=',')}")
    w("")
    import unicodedata
    lower = [f"{c:X}={hexs(chr(c).lower())}" for c in range(0x80, 0x110000)
             if not (0xD800 <= c <= 0xDFFF) and c != 0x3A3 and chr(c).lower() != chr(c)]
    w(f"    /// Python {sys.version_info.major}.{sys.version_info.minor} `str.lower()` (Unicode {unicodedata.unidata_version}) of every non-ASCII code point")
    w("    /// it changes, except U+03A3 (final-sigma rule): \"HEX=HEX+HEX\" separated by spaces.")
    w(f"    static let pythonLowercase: String = {chunked_literal(lower)}")
    w("")
    entries = [f"{k:X}={hexs(v)}" for k, v in sorted(ftfy.chardata.LIGATURES.items())]
    w("    /// `ftfy.chardata.LIGATURES`: \"HEX=HEX+HEX\" separated by spaces.")
    w(f"    static let ligatures: String = {chunked_literal(entries)}")
    w("}")
    with open(OUT, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
