import Foundation

/// One image of the library. An upload owns a copy of its original (`storedPath` set); a file indexed
/// in place is tracked at its path (`source`, with `fileMtime` set). One row can be both: an upload of
/// the same bytes as a file indexed in place keeps its own copy, so the file's removal loses nothing.
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
    /// Modification time (seconds since 1970) of the file at `source` when it was indexed; nil when
    /// the image is not (or no longer) tracked in place.
    public let fileMtime: Double?
    /// Where an upload's own copy lives, relative to the data folder; nil for a file indexed in place only.
    public let storedPath: String?
    public let createdAt: Date
    /// When the photo was taken: EXIF DateTimeOriginal, else the file's mtime, else the upload time.
    public let takenAt: Date
    /// The photo's own keywords (XMP dc:subject).
    public let keywords: [String]

    public init(id: Int64, sha256: String, source: String, mime: String, width: Int, height: Int,
                byteSize: Int, fileMtime: Double?, storedPath: String?, createdAt: Date, takenAt: Date,
                keywords: [String] = []) {
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
        self.takenAt = takenAt
        self.keywords = keywords
    }
}

/// One search result: the image and its cosine similarity to the query.
public struct SearchHit: Sendable {
    public let image: StoredImage
    public let score: Float
    /// In a hybrid search, the reciprocal-rank-fusion score the results are ordered by.
    public let fusedScore: Double?

    public init(image: StoredImage, score: Float, fusedScore: Double? = nil) {
        self.image = image
        self.score = score
        self.fusedScore = fusedScore
    }
}
