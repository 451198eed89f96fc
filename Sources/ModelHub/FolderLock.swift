import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive advisory lock (flock) on the destination folder itself, so two fetches into the same
/// folder cannot write one `.part` file at once. Released when the value is released or the process ends.
final class FolderLock {
    private let descriptor: Int32

    init(_ folder: URL) throws(ModelHubError) {
        let fd = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw .fileSystem(path: folder.path, reason: "cannot open folder: " + String(cString: strerror(errno)))
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            close(fd)
            throw busy ? .destinationBusy(path: folder.path) : .fileSystem(path: folder.path, reason: "cannot lock: \(reason)")
        }
        descriptor = fd
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
