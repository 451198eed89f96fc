import Foundation
import SearchIndex

/// An upload to store: the bytes (hashed where they came in), what the decoder and the model made
/// of them.
public struct NewUpload: Sendable {
    public var original: HashedBytes
    /// The client's name for it (a file name, or "upload").
    public var name: String
    public var mime: String
    public var width: Int
    public var height: Int
    /// The model's embedding (need not be normalized).
    public var embedding: [Float]
    public var thumbnailJPEG: [UInt8]
    /// EXIF DateTimeOriginal; nil: the upload time.
    public var takenAt: Date?
    /// XMP dc:subject.
    public var keywords: [String]

    public init(original: HashedBytes, name: String, mime: String, width: Int, height: Int,
                embedding: [Float], thumbnailJPEG: [UInt8], takenAt: Date? = nil, keywords: [String] = []) {
        self.original = original
        self.name = name
        self.mime = mime
        self.width = width
        self.height = height
        self.embedding = embedding
        self.thumbnailJPEG = thumbnailJPEG
        self.takenAt = takenAt
        self.keywords = keywords
    }
}

/// A file to index in place (referenced by its absolute path, not copied).
public struct FileEntry: Sendable {
    public var path: String
    public var sha256: String
    public var mime: String
    public var width: Int
    public var height: Int
    public var byteSize: Int
    public var mtime: Double
    public var embedding: [Float]
    public var thumbnailJPEG: [UInt8]
    /// EXIF DateTimeOriginal; nil: the file's mtime.
    public var takenAt: Date?
    /// XMP dc:subject.
    public var keywords: [String]

    public init(path: String, sha256: String, mime: String, width: Int, height: Int, byteSize: Int, mtime: Double,
                embedding: [Float], thumbnailJPEG: [UInt8], takenAt: Date? = nil, keywords: [String] = []) {
        self.path = path
        self.sha256 = sha256
        self.mime = mime
        self.width = width
        self.height = height
        self.byteSize = byteSize
        self.mtime = mtime
        self.embedding = embedding
        self.thumbnailJPEG = thumbnailJPEG
        self.takenAt = takenAt
        self.keywords = keywords
    }
}

/// What indexing a file in place did.
public enum FileChange: Sendable, Equatable {
    /// A new row.
    case inserted
    /// Same path, same content, same size and mtime: nothing to do.
    case unchanged
    /// Same path and content; its size or mtime changed (touched, copied over itself): updated.
    case refreshed
    /// The content was indexed at a path that no longer exists: the row now points here, and keeps
    /// its embedding and id.
    case moved(from: String)
    /// The same bytes are already stored under another source that still exists (a copy of a file,
    /// or an upload): no second row.
    case duplicateOf(String)
}

/// The library's records: images (rows and metadata), their vectors for one model, thumbnails and
/// originals. Every implementation keeps `vectors` in step with what it commits, in commit order,
/// and never holds a vector whose row did not commit. Safe to use from many threads at once.
///
/// Writes are transactions that keep the store's invariants: one row per sha256; an acknowledged
/// upload keeps its own original until it is deleted; a row removed takes its vectors and thumbnail.
public protocol LibraryStore: AnyObject, Sendable {
    /// The model whose vectors this store serves (another model's vectors are never mixed in).
    var modelName: String { get }
    /// Every vector of `modelName`, for search.
    var vectors: VectorIndex { get }

    // MARK: Reads
    func image(id: Int64) throws(LibraryStoreError) -> StoredImage?
    func image(sha256: String) throws(LibraryStoreError) -> StoredImage?
    /// The rows of `ids` that exist (a row deleted meanwhile is left out).
    func images(ids: [Int64]) throws(LibraryStoreError) -> [Int64: StoredImage]
    /// The row tracking the file at `path` (absolute) in place, if any.
    func indexedFile(path: String) throws(LibraryStoreError) -> StoredImage?
    /// Every row tracking a file in place (for pruning those that are gone).
    func indexedFiles() throws(LibraryStoreError) -> [StoredImage]
    /// Newest first (ids only grow), with the total number of images.
    func list(offset: Int, limit: Int) throws(LibraryStoreError) -> (images: [StoredImage], total: Int)
    func thumbnail(id: Int64) throws(LibraryStoreError) -> [UInt8]?
    /// The original bytes (an upload's own copy first, else the file in place); nil when gone.
    func original(of image: StoredImage) throws(LibraryStoreError) -> [UInt8]?
    /// Up to `limit` images with id > `afterID` lacking a vector of this model, by id.
    func imagesLackingEmbedding(afterID: Int64, limit: Int) throws(LibraryStoreError) -> [StoredImage]
    func lackingEmbeddingCount() throws(LibraryStoreError) -> Int
    /// The ids of the images `filter` allows (all images when it is empty).
    func imageIDs(matching filter: ImageFilter) throws(LibraryStoreError) -> [Int64]
    /// Up to `limit` images whose path (folder and file names) or keywords hold any of `words`,
    /// best match first (BM25), among those `filter` allows.
    func imagesMatching(words: [String], limit: Int, filter: ImageFilter) throws(LibraryStoreError) -> [Int64]

    // MARK: Other writers
    /// Applies to `vectors` what other processes (or servers) committed since the last call, by
    /// reading only what changed; returns how many vectors changed. Cheap when nothing did.
    func refresh() throws(LibraryStoreError) -> Int

    // MARK: Writes
    /// Stores an upload durably (original, row, vector, thumbnail). The same bytes twice, even at
    /// once, give one row: the existing image with `duplicate` true, completed where it lacked this
    /// model's vector, a thumbnail, or its own copy of the original.
    func addUpload(_ upload: NewUpload) throws(LibraryStoreError) -> (image: StoredImage, duplicate: Bool)
    /// Files in place, in one transaction: all stored or none. Rows that claimed a path with other
    /// content are dropped (the file was overwritten).
    func indexFiles(_ entries: [FileEntry]) throws(LibraryStoreError) -> [(image: StoredImage, change: FileChange)]
    /// Without encoding: when these bytes are stored with a vector of this model, records `path` for
    /// them (a move, a touch, a copy); nil when the caller must encode the file and `indexFiles` it.
    func relocateFile(path: String, sha256: String, byteSize: Int, mtime: Double) throws(LibraryStoreError) -> (image: StoredImage, change: FileChange)?
    /// Gives an existing image this model's vector (re-embedding after a model change).
    func setEmbedding(id: Int64, embedding: [Float]) throws(LibraryStoreError)
    /// Removes the image entirely (row, vectors, thumbnail, its own original). False when unknown.
    func delete(id: Int64) throws(LibraryStoreError) -> Bool
    /// The file an image was indexed from is gone: the row is removed, unless an upload of the same
    /// bytes keeps it (then it stays, no longer tracked in place). False when unknown.
    func forgetIndexedFile(id: Int64) throws(LibraryStoreError) -> Bool
    /// Removes stored originals no row references (uploads whose transaction never committed) and
    /// temp files older than `tempFileAge` seconds; returns what it removed. Safe beside writers in
    /// this and other processes.
    func removeOrphanedOriginals(tempFileAge: TimeInterval) throws(LibraryStoreError) -> [String]
}

extension LibraryStore {
    /// Top-k by cosine similarity over `vectors`, with the rows of the hits. A non-empty `filter`
    /// is applied inside the ranking: k hits whenever k images match it.
    public func search(_ query: [Float], k: Int, offset: Int = 0, minScore: Float? = nil,
                       filter: ImageFilter = ImageFilter()) throws(LibraryStoreError) -> (hits: [SearchHit], total: Int) {
        let ranked: (hits: [ScoredID], total: Int)
        let allowed = filter.isEmpty ? nil : IDFilter(allowing: try imageIDs(matching: filter))
        do {
            ranked = try vectors.search(query, k: k, offset: offset, minScore: minScore, filter: allowed)
        } catch {
            throw .vector(error)
        }
        guard !ranked.hits.isEmpty else { return ([], ranked.total) }
        let rows = try images(ids: ranked.hits.map(\.id))
        // A row deleted between the two steps is simply left out.
        let hits = ranked.hits.compactMap { hit in rows[hit.id].map { SearchHit(image: $0, score: hit.score) } }
        return (hits, ranked.total)
    }

    /// The CLIP ranking fused with the full-text ranking of `words` (file and folder names,
    /// keywords) by reciprocal rank; each list `depth` deep (at least offset + k). `score` stays
    /// the cosine similarity (`minScore` applies to it), `fusedScore` orders the results; `total`
    /// is the CLIP search's.
    public func hybridSearch(_ query: [Float], words: [String], k: Int, offset: Int = 0, minScore: Float? = nil,
                             filter: ImageFilter = ImageFilter(), depth: Int = 200) throws(LibraryStoreError) -> (hits: [SearchHit], total: Int) {
        let (wanted, overflow) = offset.addingReportingOverflow(k)
        let depth = overflow ? Int.max : max(depth, wanted)
        let clip = try search(query, k: depth, minScore: minScore, filter: filter)
        let text = try imagesMatching(words: words, limit: depth, filter: filter)
        var known = Dictionary(clip.hits.map { ($0.image.id, $0) }, uniquingKeysWith: { first, _ in first })
        let unit: [Float]
        do { unit = try vectors.unitVector(query, what: "query") } catch { throw .vector(error) }
        // Found by their words only: the cosine comes from the vector (none yet: not searchable).
        var wordsOnly: [Int64: Float] = [:]
        for id in text where known[id] == nil {
            guard let vector = vectors.vector(of: id) else { continue }
            let score = zip(unit, vector).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            if let minScore, !(score >= minScore) { continue }
            wordsOnly[id] = score
        }
        let fused = RankFusion.fuse([clip.hits.map(\.image.id), text.filter { known[$0] != nil || wordsOnly[$0] != nil }])
        let page = Array(fused.dropFirst(offset).prefix(k))
        for (id, image) in try images(ids: page.map(\.id).filter { known[$0] == nil }) {
            known[id] = SearchHit(image: image, score: wordsOnly[id]!)
        }
        // A row deleted meanwhile is left out.
        let hits = page.compactMap { ranked in
            known[ranked.id].map { SearchHit(image: $0.image, score: $0.score, fusedScore: ranked.score) }
        }
        return (hits, clip.total)
    }
}
