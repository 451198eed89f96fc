import CLIP
import Foundation
import Synchronization
import Testing
@testable import Ingest
@testable import LibraryStore

/// `serve --library`: a folder kept in sync while it changes, through inotify and through the
/// periodic scan when watching is not possible.
@Suite("Live library", .serialized)
struct LiveLibraryTests {
    /// Runs a `LiveLibrary` on its own thread until `stop()`.
    final class Running: Sendable {
        let live: LiveLibrary
        private let stopped = Atomic<Bool>(false)
        private let finished = DispatchSemaphore(value: 0)
        let log = Reports()

        init(_ bench: Workbench, scanInterval: Duration, maxWatches: Int = .max) {
            let root = LiveLibrary.canonicalPath(bench.folder.appendingPathComponent("photos").path)
            let log = self.log
            live = LiveLibrary(folders: [root], scanInterval: scanInterval, encoder: Workbench.encoder, store: bench.library,
                               board: LibraryStatusBoard(paths: [root]), settle: .milliseconds(100),
                               maxWatches: maxWatches, log: { log.add($0) })
            let thread = Thread { [self] in
                live.run(shouldStop: { self.stopped.load(ordering: .relaxed) })
                finished.signal()
            }
            thread.start()
        }

        var status: FolderStatus { live.board.snapshot[0] }

        func stop() {
            stopped.store(true, ordering: .relaxed)
            finished.wait()
        }
    }

    /// Polls `condition` for up to `seconds`.
    private func eventually(_ seconds: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return try condition()
    }

    private func source(_ bench: Workbench, _ relative: String) -> String {
        LiveLibrary.canonicalPath(bench.folder.appendingPathComponent("photos").path) + "/" + relative
    }

    @Test func watchedFolderFollowsWritesMovesAndDeletes() throws {
        let bench = try Workbench()
        defer { bench.cleanup() }
        _ = try bench.photo("jpeg-exact-224x224.jpg", as: "a.jpg")
        let running = Running(bench, scanInterval: .seconds(3600))
        defer { running.stop() }
        #expect(eventually { running.status.lastScan != nil })
        #expect(running.status.watching)
        #expect(bench.library.vectors.count == 1 && running.status.files == 1)

        // A new file is searchable without a scan.
        _ = try bench.photo("png-rgb-tiny-50x37.png", as: "b.png")
        #expect(try eventually { try bench.library.indexedFile(path: source(bench, "b.png")) != nil })

        // A rename keeps the id (and its vector); no re-encode.
        let before = try #require(try bench.library.indexedFile(path: source(bench, "a.jpg")))
        try FileManager.default.moveItem(atPath: source(bench, "a.jpg"), toPath: source(bench, "renamed.jpg"))
        #expect(try eventually { try bench.library.indexedFile(path: source(bench, "renamed.jpg"))?.id == before.id })
        #expect(try bench.library.indexedFile(path: source(bench, "a.jpg")) == nil)

        // A folder moved in: its files are indexed; moved out: forgotten.
        let outside = bench.folder.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside.appendingPathComponent("deep"), withIntermediateDirectories: true)
        try Data(try Workbench.bytes("jpeg-gray-300x400.jpg")).write(to: outside.appendingPathComponent("deep/c.jpg"))
        try FileManager.default.moveItem(atPath: outside.path, toPath: source(bench, "trip"))
        #expect(try eventually { try bench.library.indexedFile(path: source(bench, "trip/deep/c.jpg")) != nil })
        // A file written into the new folder afterwards is seen too (the folder is watched).
        try Data(try Workbench.bytes("jpeg-exif6-400x300.jpg")).write(to: URL(fileURLWithPath: source(bench, "trip/deep/d.jpg")))
        #expect(try eventually { try bench.library.indexedFile(path: source(bench, "trip/deep/d.jpg")) != nil })
        try FileManager.default.moveItem(atPath: source(bench, "trip"), toPath: bench.folder.appendingPathComponent("gone").path)
        #expect(try eventually { try bench.library.indexedFile(path: source(bench, "trip/deep/c.jpg")) == nil })

        // A deleted file's row goes.
        try FileManager.default.removeItem(atPath: source(bench, "b.png"))
        #expect(try eventually { try bench.library.indexedFile(path: source(bench, "b.png")) == nil })
        #expect(eventually { bench.library.vectors.count == 1 && running.status.files == 1 && running.status.pending == 0 })
    }

    /// Bad files are reported and skipped; the folder keeps syncing.
    @Test func badFilesAreReportedNotFatal() throws {
        let bench = try Workbench()
        defer { bench.cleanup() }
        let running = Running(bench, scanInterval: .seconds(3600))
        defer { running.stop() }
        #expect(eventually { running.status.lastScan != nil })
        var corrupt = try Workbench.bytes("jpeg-exact-224x224.jpg")
        corrupt.removeLast(corrupt.count / 2)
        corrupt[200...].withUnsafeMutableBufferPointer { $0.update(repeating: 0x55) }
        try Data(corrupt).write(to: URL(fileURLWithPath: source(bench, "broken.jpg")))
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: source(bench, "notes.txt")))
        _ = try bench.photo("png-rgb-tiny-50x37.png", as: "fine.png")
        #expect(try eventually { try bench.library.indexedFile(path: source(bench, "fine.png")) != nil })
        #expect(eventually { running.log.all.contains { $0.contains("broken.jpg") } })
        #expect(try bench.library.indexedFile(path: source(bench, "notes.txt")) == nil)
    }

    /// With the watch limit reached, the folder is scanned every interval instead, and the log says so.
    @Test func watchLimitFallsBackToScanning() throws {
        let bench = try Workbench()
        defer { bench.cleanup() }
        let running = Running(bench, scanInterval: .milliseconds(300), maxWatches: 0)
        defer { running.stop() }
        #expect(eventually { running.status.lastScan != nil })
        #expect(!running.status.watching)
        #expect(running.log.all.contains { $0.contains("watch limit") })
        _ = try bench.photo("png-rgb-tiny-50x37.png", as: "later.png")
        #expect(try eventually { try bench.library.indexedFile(path: source(bench, "later.png")) != nil })
        try FileManager.default.removeItem(atPath: source(bench, "later.png"))
        #expect(try eventually { try bench.library.indexedFile(path: source(bench, "later.png")) == nil })
    }
}
