import CLIP
import Foundation
import LibraryStore

/// Image bytes as they came in, sniffed and hashed once; everything downstream takes this.
public struct IncomingImage: Sendable {
    /// The client's or the file system's name (a file name, an absolute path, "upload").
    public let name: String
    public let original: HashedBytes
    public let format: ImageFormat
    /// EXIF DateTimeOriginal, read from the container (no decoding).
    public let takenAt: Date?
    /// XMP dc:subject keywords, read from the container.
    public let keywords: [String]

    /// Refuses bytes that are not JPEG or PNG by their first bytes (never by the name).
    public init(name: String, bytes: [UInt8]) throws(IngestError) {
        guard !bytes.isEmpty else { throw .badImage(name: name, .emptyImage) }
        guard let format = ImageFormat(sniffing: bytes) else { throw .badImage(name: name, .notAnImage) }
        self.name = name
        self.format = format
        original = HashedBytes(bytes)
        takenAt = PhotoDate.taken(in: bytes)
        keywords = PhotoKeywords.keywords(in: bytes)
    }

    public var sha256: String { original.sha256 }
}

/// An image decoded (EXIF orientation applied), cut down to what the encoder and the store need:
/// the model's crop and the thumbnail. Both are made here, in the parallel step, and the decoded
/// photo (36 MB at 12 MP) is dropped before the batch is encoded.
struct DecodedImage: Sendable {
    let incoming: IncomingImage
    /// The model's (imageSize x imageSize) crop before normalization; the encoder's own crop of it
    /// is the identity.
    let crop: RGBImage
    /// The full image's upright size (what the library records).
    let width: Int
    let height: Int
    let thumbnail: [UInt8]

    init(_ incoming: IncomingImage, maxPixels: Int, for encoder: CLIPEncoder) throws(IngestError) {
        do {
            let decoded = try encoder.decode(incoming.original.bytes, maxPixels: maxPixels)
            // A photo's resized form (298x224 for 4:3) is a fine source for its 256-pixel thumbnail
            // and spares a second resample of the full photo; a square one resizes to 224, too small.
            let limit = 4 * encoder.preprocessor.imageSize
            let (crop, resized) = encoder.preprocessor.cropAndResized(decoded.image, maxResizedLongSide: limit)
            let source = resized.flatMap { max($0.width, $0.height) >= Thumbnailer.defaultLongSide ? $0 : nil }
            self.crop = crop
            (width, height) = (decoded.fullWidth, decoded.fullHeight)
            thumbnail = try Thumbnailer.jpeg(from: source ?? decoded.image)
        } catch {
            throw .badImage(name: incoming.name, error)
        }
        self.incoming = incoming
    }
}
