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
    /// The header announces an image longer than `limit` times its width (or the reverse): resizing
    /// its short side to the model's size would make the long side enormous (60,000,000x1 → 13
    /// gigapixels). Checked before any pixel buffer is allocated.
    case extremeAspectRatio(width: Int, height: Int, limit: Int)
    /// An image file that could not be read (missing, a directory, no permission).
    case unreadableFile(path: String, reason: String)
    /// libjpeg refused to encode a thumbnail; `reason` is its message.
    case thumbnailEncodingFailed(width: Int, height: Int, reason: String)

    // MARK: - Tokenizer vocabulary
    /// A vocabulary file (`vocab.json`, `merges.txt`, `bpe_simple_vocab_16e6.txt.gz`) is not there.
    case tokenizerFileMissing(path: String)
    /// A vocabulary file is there but unusable; `reason` says where and why.
    case tokenizerFileMalformed(path: String, reason: String)

    // MARK: - Model loading
    /// A model file that should exist (config.json, model.safetensors) does not, or cannot be opened.
    case modelFileUnreadable(path: String, reason: String)
    /// config.json is not valid JSON or holds a value of the wrong type or an impossible size.
    case invalidModelConfig(path: String, reason: String)
    /// The safetensors header (length prefix or JSON) is malformed.
    case corruptWeightsHeader(path: String, reason: String)
    /// A tensor's data range reaches past the end of the file.
    case truncatedWeights(path: String, tensor: String, end: Int, fileSize: Int)
    /// A tensor the model needs is stored in a dtype we do not read (we read F32, F16, BF16).
    case unsupportedTensorDtype(tensor: String, dtype: String)
    /// A tensor the model needs is not in the file.
    case missingTensor(String)
    /// A tensor's shape differs from what the config implies.
    case tensorShapeMismatch(tensor: String, expected: [Int], actual: [Int])

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
        case .extremeAspectRatio(let width, let height, let limit):
            return "image too long and thin: \(width)x\(height) is beyond \(limit):1"
        case .unreadableFile(let path, let reason):
            return "cannot read image file \(path): \(reason)"
        case .thumbnailEncodingFailed(let width, let height, let reason):
            return "cannot encode a \(width)x\(height) thumbnail as JPEG: \(reason)"
        case .tokenizerFileMissing(let path):
            return "tokenizer vocabulary not found: \(path) (run `make setup` to fetch bpe_simple_vocab_16e6.txt.gz)"
        case .tokenizerFileMalformed(let path, let reason):
            return "malformed tokenizer vocabulary \(path): \(reason)"
        case .modelFileUnreadable(let path, let reason):
            return "cannot read model file \(path): \(reason)"
        case .invalidModelConfig(let path, let reason):
            return "invalid model config \(path): \(reason)"
        case .corruptWeightsHeader(let path, let reason):
            return "corrupt safetensors header in \(path): \(reason)"
        case .truncatedWeights(let path, let tensor, let end, let fileSize):
            return "truncated weights file \(path): tensor \(tensor) ends at byte \(end) but the file has \(fileSize) bytes"
        case .unsupportedTensorDtype(let tensor, let dtype):
            return "tensor \(tensor) has dtype \(dtype); supported are F32, F16 and BF16"
        case .missingTensor(let name):
            return "missing tensor \(name) in the weights file"
        case .tensorShapeMismatch(let tensor, let expected, let actual):
            return "tensor \(tensor) has shape \(actual), expected \(expected)"
        }
    }
}
