import Foundation
import GRDB

/// One row of `images`: an uploaded original kept under the data folder (`storedPath` set) or a file
/// indexed in place (`fileMtime` set, `source` its absolute path).
public struct StoredImage: Codable, Sendable, Equatable {
    public let id: Int64
    /// Lowercase hex SHA-256 of the original bytes; unique over the store.
    public let sha256: String
    /// The upload's name, or the absolute path of an indexed file.
    public let source: String
    public let mime: String
    /// Upright dimensions (EXIF orientation applied).
    public let width: Int
    public let height: Int
    public let byteSize: Int
    /// Modification time (seconds since 1970) of an indexed file when it was indexed; nil for uploads.
    public let fileMtime: Double?
    /// Where an upload's original lives, relative to the data folder; nil for indexed files.
    public let storedPath: String?
    public let createdAt: Date

    public init(id: Int64, sha256: String, source: String, mime: String, width: Int, height: Int,
                byteSize: Int, fileMtime: Double?, storedPath: String?, createdAt: Date) {
        self.id = id
        self.sha256 = sha256
        self.source = source
        self.mime = mime
        self.width = width
        self.height = height
        self.byteSize = byteSize
        self.fileMtime = fileMtime
        self.storedPath = storedPath
        self.createdAt = createdAt
    }

    /// True for an upload (the original is in the data folder), false for a file indexed in place.
    public var isUpload: Bool { storedPath != nil }

    /// Decodes a `SELECT * FROM images` row.
    init(row: Row) {
        id = row["id"]
        sha256 = row["sha256"]
        source = row["source"]
        mime = row["mime"]
        width = row["width"]
        height = row["height"]
        byteSize = row["byte_size"]
        fileMtime = row["file_mtime"]
        storedPath = row["stored_path"]
        createdAt = Date(timeIntervalSince1970: row["created_at"])
    }
}

/// One search result: the image and its cosine similarity to the query.
public struct SearchHit: Sendable {
    public let image: StoredImage
    public let score: Float

    public init(image: StoredImage, score: Float) {
        self.image = image
        self.score = score
    }
}
