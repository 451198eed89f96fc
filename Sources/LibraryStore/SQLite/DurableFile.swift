import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file replaced atomically and durably: written to a temp file beside it, fsynced, renamed over
/// the final name, the folder fsynced. A crash at any point leaves the old file or the new one,
/// never a part of either (a leftover temp file at worst).
enum DurableFile {
    /// Writes the parts `body` hands to its sink, in order, as the new content of `final`; the temp
    /// file is `<tempPrefix><uuid>` beside it.
    static func replace(_ final: URL, tempPrefix: String = ".tmp-", _ body: (inout Sink) -> Void) throws(LibraryStoreError) {
        let folder = final.deletingLastPathComponent()
        let temp = folder.appendingPathComponent(tempPrefix + UUID().uuidString)
        let fd = open(temp.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: temp.path, reason: "open: \(errnoText())") }
        var sink = Sink(fd: fd)
        body(&sink)
        var failure = sink.failure
        if failure == nil && fsync(fd) != 0 { failure = "fsync: \(errnoText())" }
        if close(fd) != 0 && failure == nil { failure = "close: \(errnoText())" }
        if failure == nil && rename(temp.path, final.path) != 0 { failure = "rename to \(final.path): \(errnoText())" }
        if let failure {
            unlink(temp.path)
            throw .io(path: temp.path, reason: failure)
        }
        try syncFolder(folder)
    }

    /// Where the parts go; the first failed write is kept and later ones skipped.
    struct Sink {
        let fd: Int32
        private(set) var failure: String?

        init(fd: Int32) {
            self.fd = fd
        }

        mutating func write(_ raw: UnsafeRawBufferPointer) {
            var written = 0
            while failure == nil && written < raw.count {
                let n = posixWrite(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = "write: \(errnoText())"
                }
                written += max(0, n)
            }
        }

        mutating func write<T: BitwiseCopyable>(array: [T]) {
            array.withUnsafeBytes { write($0) }
        }
    }

    static func syncFolder(_ folder: URL) throws(LibraryStoreError) {
        let fd = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: folder.path, reason: "open folder: \(errnoText())") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io(path: folder.path, reason: "fsync folder: \(errnoText())") }
    }

    static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}

@inline(__always)
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}
