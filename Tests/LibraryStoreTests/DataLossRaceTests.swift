import Foundation
import Testing
@testable import LibraryStore

/// The two ways an acknowledged upload could lose its original (issue: one ingestion pipeline).
@Suite("Acknowledged uploads keep their originals")
struct DataLossRaceTests {
    /// A second library on the same database stands in for another process (a running server while
    /// `index --prune` or a second `serve` sweeps). It uploads between the sweep's read of the
    /// referenced files and its removals; the sweep must not take the file of a committed row.
    @Test func sweepBesideAnotherWriterKeepsItsCommittedOriginal() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let server = try store.open()
        try server.upload(fakeImageBytes(0), [0, 0, 0, 0, 0, 0, 0, 1])   // so originals/ exists
        let bytes = fakeImageBytes(1)
        let uploaded = UploadBox()
        let sweeper = try store.open(hooks: SQLiteLibrary.Hooks(sweepAfterSnapshot: {
            DispatchQueue.global().async {
                uploaded.set(Result { try server.upload(bytes, [1, 0, 0, 0, 0, 0, 0, 0], name: "raced.jpg") })
            }
            // Without the sweep holding the write lock the upload commits within this second; with
            // it the upload waits for the sweep (either way the test goes on).
            _ = uploaded.wait(seconds: 1)
        }))
        _ = try sweeper.removeOrphanedOriginals(tempFileAge: 3600)
        let (image, duplicate) = try #require(uploaded.wait(seconds: 15)).get()
        #expect(!duplicate)
        #expect(try server.original(of: image) == bytes, "row \(image.id) committed but its original is gone")
        // A later sweep still keeps it.
        _ = try sweeper.removeOrphanedOriginals(tempFileAge: 3600)
        #expect(try server.original(of: image) == bytes)
    }

    /// An upload of the same bytes as a file indexed in place is acknowledged as that row; when the
    /// file is later removed and pruned, the upload must still be there with its original.
    @Test func uploadOfAFileIndexedInPlaceSurvivesThePruneOfThatFile() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let library = try store.open()
        let bytes = fakeImageBytes(7)
        let path = store.folder.appendingPathComponent("photo.jpg").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let vector: [Float] = [0, 0, 1, 0, 0, 0, 0, 0]
        let file = try library.indexFile(path: path, sha256: ContentHash.sha256Hex(bytes), mime: "image/jpeg", width: 4,
                                         height: 3, byteSize: bytes.count, mtime: 1, embedding: vector, thumbnailJPEG: [1])
        let upload = try library.upload(bytes, vector, name: "photo-upload.jpg")
        #expect(upload.duplicate && upload.image.id == file.image.id)
        #expect(upload.image.storedPath != nil)
        // Still tracked in place while the file is there.
        #expect(try library.indexedFile(path: path)?.id == file.image.id)

        try FileManager.default.removeItem(atPath: path)
        #expect(try library.forgetIndexedFile(id: file.image.id))
        #expect(try library.removeOrphanedOriginals(tempFileAge: 3600).isEmpty)
        let kept = try #require(try library.image(id: file.image.id))
        #expect(kept.fileMtime == nil && kept.storedPath != nil)
        #expect(try library.original(of: kept) == bytes)
        #expect(library.embedding(id: kept.id) == vector)
        #expect(try library.indexedFiles().isEmpty)
        // A file in place that was never uploaded is forgotten for good.
        let other = fakeImageBytes(8)
        let otherPath = store.folder.appendingPathComponent("other.jpg").path
        let otherRow = try library.indexFile(path: otherPath, sha256: ContentHash.sha256Hex(other), mime: "image/jpeg",
                                             width: 1, height: 1, byteSize: other.count, mtime: 1,
                                             embedding: [1, 0, 0, 0, 0, 0, 0, 0], thumbnailJPEG: [])
        #expect(try library.forgetIndexedFile(id: otherRow.image.id))
        #expect(try library.image(id: otherRow.image.id) == nil)
        #expect(library.embedding(id: otherRow.image.id) == nil)
    }

    /// The same, when the file is overwritten with other bytes instead of removed.
    @Test func uploadOfAFileIndexedInPlaceSurvivesItsOverwrite() throws {
        let store = try TempStore()
        defer { store.cleanup() }
        let library = try store.open()
        let bytes = fakeImageBytes(3)
        let path = store.folder.appendingPathComponent("photo.jpg").path
        let file = try library.indexFile(path: path, sha256: ContentHash.sha256Hex(bytes), mime: "image/jpeg", width: 4,
                                         height: 3, byteSize: bytes.count, mtime: 1,
                                         embedding: [1, 0, 0, 0, 0, 0, 0, 0], thumbnailJPEG: [])
        try library.upload(bytes, [1, 0, 0, 0, 0, 0, 0, 0])
        let replaced = try library.indexFile(path: path, sha256: ContentHash.sha256Hex(fakeImageBytes(4)), mime: "image/jpeg",
                                             width: 4, height: 3, byteSize: 10, mtime: 2,
                                             embedding: [0, 1, 0, 0, 0, 0, 0, 0], thumbnailJPEG: [])
        #expect(replaced.change == .inserted)
        let kept = try #require(try library.image(id: file.image.id))
        #expect(try library.original(of: kept) == bytes)
        #expect(try library.indexedFile(path: path)?.id == replaced.image.id)
    }
}

/// One result handed from another thread.
private final class UploadBox: @unchecked Sendable {
    private let lock = NSCondition()
    private var result: Result<(image: StoredImage, duplicate: Bool), any Error>?

    func set(_ value: Result<(image: StoredImage, duplicate: Bool), any Error>) {
        lock.lock()
        result = value
        lock.broadcast()
        lock.unlock()
    }

    /// The result, or nil when none came within `seconds`.
    func wait(seconds: Double) -> Result<(image: StoredImage, duplicate: Bool), any Error>? {
        lock.lock()
        defer { lock.unlock() }
        let deadline = Date().addingTimeInterval(seconds)
        while result == nil && lock.wait(until: deadline) {}
        return result
    }
}
