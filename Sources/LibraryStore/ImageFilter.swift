import Foundation

/// Which images a search may return, by their rows: taken in a date range, under a folder.
public struct ImageFilter: Sendable, Equatable {
    /// `takenAt` ≥ this.
    public var takenAfter: Date?
    /// `takenAt` < this.
    public var takenBefore: Date?
    /// `source` is this path or below it (a trailing "/" is ignored).
    public var folder: String?

    public init(takenAfter: Date? = nil, takenBefore: Date? = nil, folder: String? = nil) {
        self.takenAfter = takenAfter
        self.takenBefore = takenBefore
        self.folder = folder
    }

    public var isEmpty: Bool { takenAfter == nil && takenBefore == nil && folder == nil }

    /// The folder without trailing slashes ("/" stays "/"); nil when none was given.
    var folderPath: String? {
        guard var path = folder else { return nil }
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path
    }
}
