import Foundation
import GRDB
import Testing
@testable import LibraryStore

@Suite("Durability and files served by path")
struct FileSafetyTests {
    /// WAL with synchronous=FULL: a commit that returned is on disk, for power loss too.
    @Test func commitsAreSynchronousFull() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let library = try store.open()
        let modes = try library.database.pool.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
        }
        #expect(modes.0 == "wal")
        #expect(modes.1 == 2, "PRAGMA synchronous is \(String(describing: modes.1)), FULL is 2")
        let writer = try library.database.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(writer == 2)
    }

    /// A file indexed in place that is later swapped for a symlink (to a secret of the same size),
    /// a folder, or other bytes of another size is not served.
    @Test func filesInPlaceAreServedOnlyAsTheRegularFileIndexed() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let library = try store.open()
        let bytes = fakeImageBytes(1)
        let path = store.folder.appendingPathComponent("photo.jpg").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let (image, _) = try library.indexFile(path: path, sha256: ContentHash.sha256Hex(bytes), mime: "image/jpeg",
                                               width: 4, height: 3, byteSize: bytes.count, mtime: 1,
                                               embedding: [1, 0, 0, 0, 0, 0, 0, 0], thumbnailJPEG: [])
        #expect(try library.original(of: image) == bytes)

        let secret = store.folder.appendingPathComponent("secret").path
        try Data([UInt8](repeating: 0x53, count: bytes.count)).write(to: URL(fileURLWithPath: secret))
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: secret)
        #expect(try library.original(of: image) == nil, "followed a symlink")

        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        #expect(try library.original(of: image) == nil, "served a folder")

        try FileManager.default.removeItem(atPath: path)
        try Data(bytes + [0]).write(to: URL(fileURLWithPath: path))
        #expect(try library.original(of: image) == nil, "served a file of another size")
    }
}
