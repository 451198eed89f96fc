/// One file of a hub repository as its tree listing describes it.
public struct HubFile: Equatable, Sendable {
    /// Path inside the repository, e.g. `model.safetensors`.
    public let path: String
    /// Size in bytes of the real file (for LFS files, of the object, not of the pointer).
    public let size: Int64
    /// What the downloaded bytes must hash to.
    public let checksum: Checksum

    public init(path: String, size: Int64, checksum: Checksum) {
        self.path = path
        self.size = size
        self.checksum = checksum
    }
}

/// The hub publishes a sha256 for LFS files and the git blob id (sha1 of `"blob SIZE\0" + bytes`)
/// for files stored in git itself; both are checked the same way, while streaming.
public enum Checksum: Equatable, Sendable {
    case sha256(String)
    case gitBlobSHA1(String)

    public var algorithm: String {
        switch self {
        case .sha256: return "sha256"
        case .gitBlobSHA1: return "git blob sha1"
        }
    }

    public var hex: String {
        switch self {
        case .sha256(let hex), .gitBlobSHA1(let hex): return hex
        }
    }
}
