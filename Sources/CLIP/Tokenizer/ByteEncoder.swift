// OpenAI's reversible byte → printable-character map (`bytes_to_unicode` in
// https://github.com/openai/CLIP/blob/main/clip/simple_tokenizer.py): BPE symbols are strings of
// these characters, one per UTF-8 byte, so no byte is ever unknown.

/// The byte-level alphabet of CLIP's BPE.
enum ByteEncoder {
    /// `characters[b]` is the printable character that stands for byte `b`.
    static let characters: [Character] = {
        // Bytes that are already printable Latin-1 characters stand for themselves...
        func keepsItself(_ b: Int) -> Bool {
            (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
        }
        // ...the others (controls, space, NBSP, soft hyphen) get U+0100, U+0101, ... in byte order.
        var result = [Character](repeating: " ", count: 256)
        var next = 0x100
        for b in 0..<256 {
            if keepsItself(b) {
                result[b] = Character(Unicode.Scalar(UInt8(b)))
            } else {
                result[b] = Character(Unicode.Scalar(UInt32(next))!)
                next += 1
            }
        }
        return result
    }()

    /// The order OpenAI's vocabulary lists the 256 byte symbols in (ids 0...255, then the same with
    /// `</w>` as ids 256...511): first the bytes that keep themselves, then the remapped ones.
    static let vocabularyOrder: [UInt8] = {
        let kept = (0..<256).filter { b in
            (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
        }
        let remapped = (0..<256).filter { !kept.contains($0) }
        return (kept + remapped).map { UInt8($0) }
    }()

    /// The BPE spelling of some UTF-8 bytes.
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var s = ""
        for b in bytes { s.append(characters[Int(b)]) }
        return s
    }
}
