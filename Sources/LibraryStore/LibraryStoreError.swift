import SearchIndex

/// Every error the LibraryStore module throws. Messages name the offending thing (path, id, model).
public enum LibraryStoreError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The database failed; `context` says what we were doing.
    case database(context: String, message: String)
    /// A vector that does not fit the store's model (length, zeros, NaN).
    case vector(SearchIndexError)
    /// No image has this id.
    case unknownImage(id: Int64)
    /// A file or folder under the data folder (or an indexed path) could not be read or written.
    case io(path: String, reason: String)
    /// A caller-side argument out of range (negative offset, relative path, empty model name, ...).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .database(let context, let message):
            return "database error while \(context): \(message)"
        case .vector(let error):
            return error.description
        case .unknownImage(let id):
            return "no image with id \(id)"
        case .io(let path, let reason):
            return "cannot access \(path): \(reason)"
        case .invalidArgument(let why):
            return "invalid argument: \(why)"
        }
    }
}
