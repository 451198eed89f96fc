import Foundation
import Synchronization

/// What `GET /library` and `/metrics` report of one `serve --library` folder.
public struct FolderStatus: Sendable, Equatable {
    public var path: String
    /// Images tracked in place under the folder.
    public var files: Int
    /// Files seen and not yet indexed (during a scan, or changes waiting to be applied).
    public var pending: Int
    /// When the last full scan finished; nil before the first one.
    public var lastScan: Date?
    /// Whether changes arrive through inotify (else only the periodic scan finds them).
    public var watching: Bool
    /// Files indexed (or re-indexed) since the server started.
    public var indexedTotal: Int

    public init(path: String) {
        self.path = path
        files = 0
        pending = 0
        lastScan = nil
        watching = false
        indexedTotal = 0
    }
}

/// The live folders' status, written by the sync thread, read by the HTTP routes.
public final class LibraryStatusBoard: Sendable {
    private let folders: Mutex<[FolderStatus]>

    public init(paths: [String]) {
        folders = Mutex(paths.map(FolderStatus.init(path:)))
    }

    public var snapshot: [FolderStatus] { folders.withLock { $0 } }

    func update(_ path: String, _ change: (inout FolderStatus) -> Void) {
        folders.withLock { all in
            guard let i = all.firstIndex(where: { $0.path == path }) else { return }
            change(&all[i])
        }
    }
}
