/// What indexing files in place did (`clip-server index` prints it as one JSON line).
public struct IndexSummary: Codable, Sendable, Equatable {
    /// Newly embedded: new files, or known ones that lacked this model's vector.
    public var indexed = 0
    /// Unchanged, or the same bytes already stored under another path.
    public var skipped = 0
    /// Known bytes at a new path, the old one gone: row kept, no encoding.
    public var moved = 0
    /// Unreadable or corrupt, reported.
    public var failed = 0
    /// Rows whose files are gone (`--prune`).
    public var pruned = 0
    /// Neither JPEG nor PNG: skipped quietly.
    public var notImages = 0
    /// Images outside the paths given this model's vector (`--reembed`).
    public var reembedded = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case indexed, skipped, moved, failed, pruned
        case notImages = "not_images"
        case reembedded
    }
}
