#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Linux inotify over folder trees: one watch per folder (inotify is not recursive), added for
/// folders that appear later too. Reports paths, not inotify's details: a file written or moved in,
/// a folder that appeared (its contents to collect), a path that went away (moved out or deleted).
/// Used from one thread. `watchTree` says when the watch limit is reached, so the caller can fall
/// back to scanning.
final class InotifyWatch {
    enum Event: Equatable {
        /// A file was written (closed after writing) or moved in; a folder appeared or moved in.
        case changed(String)
        /// A file or folder was deleted or moved away.
        case removed(String)
        /// The kernel's queue overflowed: events were lost, rescan.
        case overflow
    }

    enum WatchOutcome: Equatable {
        case watching(folders: Int)
        /// The per-user watch limit (fs.inotify.max_user_watches), or `maxWatches`, was reached.
        case limitReached(folders: Int)
        case failed(String)
    }

    private let fd: Int32
    private var folderOfWatch: [Int32: String] = [:]
    /// Our own cap, below the kernel's (tests use it to reach the limit on purpose).
    private let maxWatches: Int

    private static let folderMask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE
                                           | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)

    init(maxWatches: Int = .max) throws(IngestError) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw .unreadable(path: "inotify", reason: String(cString: strerror(errno))) }
        self.fd = fd
        self.maxWatches = maxWatches
    }

    deinit { close(fd) }

    var watchCount: Int { folderOfWatch.count }

    /// Watches `root` and every folder below it (hidden ones skipped, as the scan skips them).
    func watchTree(_ root: String) -> WatchOutcome {
        var pending = [root]
        var added = 0
        while let folder = pending.popLast() {
            guard folderOfWatch.count < maxWatches else { return .limitReached(folders: added) }
            let wd = inotify_add_watch(fd, folder, Self.folderMask)
            if wd < 0 {
                let code = errno
                if code == ENOSPC { return .limitReached(folders: added) }
                // A folder removed meanwhile, or unreadable: not fatal for the rest of the tree.
                if folder == root { return .failed("\(folder): \(String(cString: strerror(code)))") }
                continue
            }
            folderOfWatch[wd] = folder
            added += 1
            let children = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            for name in children where !name.hasPrefix(".") {
                let path = folder == "/" ? "/" + name : folder + "/" + name
                var isDirectory: ObjCBool = false
                // Symlinked folders are not followed, as the scan does not follow them.
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
                   (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) == nil {
                    pending.append(path)
                }
            }
        }
        return .watching(folders: added)
    }

    /// Waits up to `timeout` milliseconds for events and returns what arrived (empty on timeout).
    /// Folders that appear are watched before this returns, so files written into them are not missed
    /// (their contents so far are the caller's to collect, from the `.changed` event).
    func wait(timeout: Int32) -> (events: [Event], limitReached: Bool) {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeout) > 0 else { return ([], false) }
        var events: [Event] = []
        var limitReached = false
        let bufferSize = 64 * 1024
        var buffer = [UInt8](repeating: 0, count: bufferSize)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, bufferSize) }
            guard count > 0 else { break }
            var offset = 0
            let header = MemoryLayout<inotify_event>.size
            while offset + header <= count {
                let (wd, mask, length) = buffer.withUnsafeBytes { raw in
                    let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    return (event.wd, event.mask, Int(event.len))
                }
                guard offset + header + length <= count else { break }
                let nameBytes = buffer[(offset + header)..<(offset + header + length)].prefix { $0 != 0 }
                offset += header + length
                if mask & UInt32(IN_Q_OVERFLOW) != 0 { events.append(.overflow); continue }
                if mask & UInt32(IN_IGNORED) != 0 { folderOfWatch.removeValue(forKey: wd); continue }
                guard let folder = folderOfWatch[wd] else { continue }
                if mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF) != 0 { continue }   // its parent reports it
                let name = String(decoding: nameBytes, as: UTF8.self)
                guard !name.isEmpty, !name.hasPrefix(".") else { continue }
                let path = folder == "/" ? "/" + name : folder + "/" + name
                let isFolder = mask & UInt32(IN_ISDIR) != 0
                if mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0 {
                    events.append(.removed(path))
                } else if isFolder && mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 {
                    if case .limitReached = watchTree(path) { limitReached = true }
                    events.append(.changed(path))
                } else if !isFolder && mask & UInt32(IN_CLOSE_WRITE | IN_MOVED_TO) != 0 {
                    events.append(.changed(path))
                }
            }
        }
        return (events, limitReached)
    }
}
