/// Every error the SearchIndex module throws. Messages name the offending vector.
public enum SearchIndexError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A vector's length differs from the index's dimension (`what`: "query", "embedding of cat.jpg", ...).
    case dimensionMismatch(what: String, expected: Int, actual: Int)
    /// A vector that cannot be a direction: all zeros, or holding NaN/infinity.
    case invalidEmbedding(String)
    /// A caller-side argument out of range (negative k or offset, ...).
    case invalidArgument(String)
    /// More than `limit` pairs score ≥ `minScore` (`nearDuplicates`): the threshold is too low for this library.
    case tooManyPairs(limit: Int, minScore: Float)
    /// A serialized matrix or graph that cannot be read back (truncated, inconsistent).
    case corruptData(String)

    public var description: String {
        switch self {
        case .dimensionMismatch(let what, let expected, let actual):
            return "\(what) has \(actual) dimensions, the index expects \(expected)"
        case .invalidEmbedding(let why):
            return "invalid embedding: \(why)"
        case .invalidArgument(let why):
            return "invalid argument: \(why)"
        case .tooManyPairs(let limit, let minScore):
            return "more than \(limit) pairs of images score at least \(minScore); ask for a higher min_score"
        case .corruptData(let why):
            return "corrupt search index data: \(why)"
        }
    }
}
