import CImageCodecs

/// The container of image bytes, sniffed from their first bytes (never from a file name), with the
/// same rule the decoder uses.
public enum ImageFormat: String, Sendable {
    case jpeg
    case png

    /// nil when the bytes are neither JPEG nor PNG.
    public init?(sniffing bytes: [UInt8]) {
        let format = bytes.withUnsafeBufferPointer { clip_sniff_format($0.baseAddress, $0.count) }
        switch format {
        case CLIP_FORMAT_JPEG: self = .jpeg
        case CLIP_FORMAT_PNG: self = .png
        default: return nil
        }
    }

    public var mimeType: String {
        switch self {
        case .jpeg: "image/jpeg"
        case .png: "image/png"
        }
    }
}
