import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Uploaded originals, content-addressed under `<dataDir>/originals/ab/abcdef…` (the full sha256 hex
/// as the file name, its first two digits as the folder). A file appears under its final name only
/// complete and on disk: written to a temp file, fsynced, renamed, and the folder fsynced.
struct OriginalStore: Sendable {
    let dataDirectory: URL

    /// `originals/ab/abcdef…`, relative to the data folder. `sha256` must be valid hex (checked by
    /// the caller), so the path cannot leave the folder.
    static func relativePath(sha256: String) -> String {
        "originals/\(sha256.prefix(2))/\(sha256)"
    }

    func url(relativePath: String) -> URL {
        dataDirectory.appendingPathComponent(relativePath)
    }

    func exists(relativePath: String) -> Bool {
        FileManager.default.fileExists(atPath: url(relativePath: relativePath).path)
    }

    /// Writes `bytes` durably under `relativePath` (idempotent: the same content may be written twice).
    func write(_ bytes: [UInt8], relativePath: String) throws(LibraryStoreError) {
        let final = url(relativePath: relativePath)
        let folder = final.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw .io(path: folder.path, reason: "cannot create folder: \(error.localizedDescription)")
        }
        try DurableFile.replace(final) { sink in bytes.withUnsafeBytes { sink.write($0) } }
        // A new `ab/` folder is itself an entry of `originals/`.
        try Self.syncFolder(folder.deletingLastPathComponent())
    }

    /// The bytes of `path` when it is a regular file (not followed through a final symlink) of
    /// exactly `expectedSize` bytes; nil otherwise. Never blocks on a FIFO (O_NONBLOCK).
    static func readRegularFile(atPath path: String, expectedSize: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, Int(info.st_size) == expectedSize else { return nil }
        var bytes = [UInt8](repeating: 0, count: expectedSize)
        var done = 0
        while done < expectedSize {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, expectedSize - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }   // shrank meanwhile
            done += n
        }
        return bytes
    }

    /// Removes an original; a file already gone is not an error.
    func remove(relativePath: String) throws(LibraryStoreError) {
        let path = url(relativePath: relativePath).path
        if unlink(path) != 0 && errno != ENOENT {
            throw .io(path: path, reason: "unlink: \(Self.errnoText())")
        }
    }

    static func syncFolder(_ folder: URL) throws(LibraryStoreError) {
        try DurableFile.syncFolder(folder)
    }

    static func errnoText() -> String {
        DurableFile.errnoText()
    }
}
