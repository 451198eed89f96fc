/// Every error the CLIP library throws. Messages name the offending thing (file, tensor, limit).
public enum CLIPError: Error, Equatable, Sendable, CustomStringConvertible {
    // MARK: - Image decoding
    /// Zero bytes were given as an image.
    case emptyImage
    /// The bytes are not a JPEG or PNG (format is sniffed from the bytes, never the file name).
    case notAnImage
    /// A known container whose variant we do not decode (e.g. a 12-bit or arithmetic-coded JPEG).
    case unsupportedImage(String)
    /// A JPEG or PNG whose data is corrupt or truncated; the string is the codec's own message.
    case corruptImage(String)
    /// The header announces more pixels than allowed; checked before any pixel buffer is allocated.
    case tooManyPixels(width: Int, height: Int, limit: Int)
    /// An image file that could not be read (missing, a directory, no permission).
    case unreadableFile(path: String, reason: String)

    // MARK: - Tokenizer vocabulary
    /// A vocabulary file (`vocab.json`, `merges.txt`, `bpe_simple_vocab_16e6.txt.gz`) is not there.
    case tokenizerFileMissing(path: String)
    /// A vocabulary file is there but unusable; `reason` says where and why.
    case tokenizerFileMalformed(path: String, reason: String)

    public var description: String {
        switch self {
        case .emptyImage:
            return "empty image: zero bytes"
        case .notAnImage:
            return "not an image: the bytes are neither JPEG nor PNG"
        case .unsupportedImage(let why):
            return "unsupported image: \(why)"
        case .corruptImage(let why):
            return "corrupt or truncated image: \(why)"
        case .tooManyPixels(let width, let height, let limit):
            return "image too large: \(width)x\(height) = \(width * height) pixels, limit is \(limit)"
        case .unreadableFile(let path, let reason):
            return "cannot read image file \(path): \(reason)"
        case .tokenizerFileMissing(let path):
            return "tokenizer vocabulary not found: \(path) (run `make setup` to fetch bpe_simple_vocab_16e6.txt.gz)"
        case .tokenizerFileMalformed(let path, let reason):
            return "malformed tokenizer vocabulary \(path): \(reason)"
        }
    }
}
