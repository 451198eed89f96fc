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

/// An image decoded (EXIF orientation applied) with its thumbnail, ready to encode and store.
struct DecodedImage: Sendable {
    let incoming: IncomingImage
    let image: RGBImage
    let thumbnail: [UInt8]

    init(_ incoming: IncomingImage, maxPixels: Int) throws(IngestError) {
        do {
            image = try ImageDecoder.decode(incoming.original.bytes, maxPixels: maxPixels)
            thumbnail = try Thumbnailer.jpeg(from: image)
        } catch {
            throw .badImage(name: incoming.name, error)
        }
        self.incoming = incoming
    }
}
