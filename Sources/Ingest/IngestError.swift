import CLIP
import LibraryStore

/// Every error the Ingest module reports for one image. Messages name the image.
public enum IngestError: Error, CustomStringConvertible, Sendable {
    /// The bytes are not a usable JPEG/PNG (empty, another format, corrupt, too many pixels).
    case badImage(name: String, CLIPError)
    /// A file could not be read.
    case unreadable(path: String, reason: String)
    /// The store refused or failed.
    case store(name: String, LibraryStoreError)
    /// The stored image these bytes matched was deleted while they were being indexed.
    case vanished(path: String)

    public var description: String {
        switch self {
        case .badImage(let name, let error): return "\(name): \(error)"
        case .unreadable(let path, let reason): return "\(path): cannot read: \(reason)"
        case .store(let name, let error): return "\(name): \(error)"
        case .vanished(let path): return "\(path): its stored copy was deleted while indexing; run index again"
        }
    }
}
