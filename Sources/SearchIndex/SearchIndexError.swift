/// Every error the SearchIndex module throws. Messages name the offending thing (path, id, model).
public enum SearchIndexError: Error, CustomStringConvertible, Equatable, Sendable {
    /// SQLite (through GRDB) failed; `context` says what we were doing.
    case database(context: String, message: String)
    /// A vector's length differs from the index's dimension (`what`: "embedding", "query", or a
    /// stored row such as "stored embedding of image 12 for model m").
    case dimensionMismatch(what: String, expected: Int, actual: Int)
    /// A vector that cannot be a direction: all zeros, or holding NaN/infinity.
    case invalidEmbedding(String)
    /// No image has this id.
    case unknownImage(id: Int64)
    /// A sha256 that is not 64 lowercase hex digits, or does not match the bytes it names.
    case invalidSHA256(String)
    /// A file or folder under the data folder (or an indexed path) could not be read or written.
    case io(path: String, reason: String)
    /// A caller-side argument out of range (negative k or offset, empty model name, ...).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .database(let context, let message):
            return "database error while \(context): \(message)"
        case .dimensionMismatch(let what, let expected, let actual):
            return "\(what) has \(actual) dimensions, the index expects \(expected)"
        case .invalidEmbedding(let why):
            return "invalid embedding: \(why)"
        case .unknownImage(let id):
            return "no image with id \(id)"
        case .invalidSHA256(let why):
            return "invalid sha256: \(why)"
        case .io(let path, let reason):
            return "cannot access \(path): \(reason)"
        case .invalidArgument(let why):
            return "invalid argument: \(why)"
        }
    }
}
