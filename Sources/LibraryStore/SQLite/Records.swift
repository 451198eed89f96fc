import Foundation
import GRDB

/// A row of `images`.
struct ImageRecord: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "images"

    var id: Int64?
    var sha256: String
    var source: String
    var mime: String
    var width: Int
    var height: Int
    var byteSize: Int
    var fileMtime: Double?
    var storedPath: String?
    var createdAt: Double
    /// nil on rows stored before it was recorded (see `StoredImage.takenAt`).
    var takenAt: Double?
    /// XMP dc:subject, one per line; nil when there are none.
    var keywords: String?

    enum CodingKeys: String, CodingKey {
        case id, sha256, source, mime, width, height
        case byteSize = "byte_size"
        case fileMtime = "file_mtime"
        case storedPath = "stored_path"
        case createdAt = "created_at"
        case takenAt = "taken_at"
        case keywords
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let sha256 = Column(CodingKeys.sha256)
        static let source = Column(CodingKeys.source)
        static let byteSize = Column(CodingKeys.byteSize)
        static let fileMtime = Column(CodingKeys.fileMtime)
        static let storedPath = Column(CodingKeys.storedPath)
        /// What `StoredImage.takenAt` reads (the expression `images_taken_at` indexes).
        static let takenAtOrFallback = SQL("COALESCE(taken_at, file_mtime, created_at)").sqlExpression
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    var image: StoredImage {
        StoredImage(id: id ?? 0, sha256: sha256, source: source, mime: mime, width: width, height: height,
                    byteSize: byteSize, fileMtime: fileMtime, storedPath: storedPath,
                    createdAt: Date(timeIntervalSince1970: createdAt),
                    takenAt: Date(timeIntervalSince1970: takenAt ?? fileMtime ?? createdAt),
                    keywords: keywords.map { $0.split(separator: "\n").map(String.init) } ?? [])
    }

    // MARK: Requests

    static func withSHA256(_ sha256: String) -> QueryInterfaceRequest<ImageRecord> {
        filter(Columns.sha256 == sha256)
    }

    /// Rows tracking a file in place.
    static func indexedInPlace() -> QueryInterfaceRequest<ImageRecord> {
        filter(Columns.fileMtime != nil)
    }
}

/// A row of `embeddings`: one model's vector of one image, little-endian Float32.
struct EmbeddingRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "embeddings"

    var imageId: Int64
    var model: String
    var dim: Int
    var vector: Data

    enum CodingKeys: String, CodingKey {
        case imageId = "image_id"
        case model, dim, vector
    }

    enum Columns {
        static let imageId = Column(CodingKeys.imageId)
        static let model = Column(CodingKeys.model)
    }
}

/// A row of `thumbnails`.
struct ThumbnailRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "thumbnails"

    var imageId: Int64
    var jpeg: Data

    enum CodingKeys: String, CodingKey {
        case imageId = "image_id"
        case jpeg
    }

    enum Columns {
        static let imageId = Column(CodingKeys.imageId)
    }
}
