import Foundation
import Testing

/// The real `clip-server serve` process with a stand-in for `Models/demo` (the tiny model, a
/// `demo.json`, a gallery of fixture images): the gallery is indexed once, after the server is ready;
/// a restart does not index it again; an interrupted first indexing is finished; a model folder
/// without `demo.json` never indexes its gallery.
@Suite(.serialized) struct DemoFirstRunTests {
    static let galleryImages = Array(Fixtures.smallImages.prefix(4))

    @Test func firstStartIndexesTheGalleryAndARestartDoesNotAgain() async throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try Fixtures.demoStandIn(in: directory, galleryImages: Self.galleryImages)
        let db = directory.appendingPathComponent("data/demo.sqlite").path
        let firstLog = directory.appendingPathComponent("first.log")

        let first = try await ServerProcess.start(db: db, model: model, log: firstLog)
        let ready = try await first.getJSON("/readyz").body
        #expect(ready["demo"] as? Bool == true)
        #expect((ready["demo_note"] as? String)?.contains("make fetch-model") == true)
        #expect(ready["model"] as? String == "demo")
        let indexed = try await Self.waitForImages(first, count: Self.galleryImages.count)
        #expect(indexed == Self.galleryImages.count)
        // Every gallery image is stored by its path and found by itself.
        let (_, list) = try await first.getJSON("/images?limit=100")
        let rows = (list["images"] as? [[String: Any]]) ?? []
        let sources = Set(rows.compactMap { $0["source"] as? String })
        let gallery = model.appendingPathComponent("gallery").standardizedFileURL.path
        #expect(sources == Set((1...Self.galleryImages.count).map { i in
            gallery + "/" + String(format: "%04d", i) + "." + (Self.galleryImages[i - 1] as NSString).pathExtension
        }))
        try await Self.waitForLog(firstLog, containing: "demo gallery: 4 images indexed")
        first.kill(SIGTERM)
        #expect(first.waitForExit() == 0)
        let firstText = try String(contentsOf: firstLog, encoding: .utf8)
        #expect(firstText.contains("demo model in use"))
        #expect(firstText.contains("trained on synthetic shapes"))
        #expect(firstText.contains("the index is empty; indexing"))
        #expect(!FileManager.default.fileExists(atPath: db + ".gallery-pending"))

        let secondLog = directory.appendingPathComponent("second.log")
        let second = try await ServerProcess.start(db: db, model: model, log: secondLog)
        defer { second.kill(SIGTERM) }
        let again = try await second.getJSON("/readyz").body
        #expect(again["images"] as? Int == Self.galleryImages.count)
        let (_, listAgain) = try await second.getJSON("/images?limit=100")
        #expect(NSDictionary(dictionary: listAgain) == NSDictionary(dictionary: list), "same rows, same ids")
        // The decision is logged before /readyz says ready.
        let secondText = try String(contentsOf: secondLog, encoding: .utf8)
        #expect(secondText.contains("demo gallery: not indexed again (the index already holds 4 images)"))
        #expect(!secondText.contains("images indexed"))
        #expect(secondText.contains("demo model in use"))
    }

    @Test func deletedGalleryImagesStayDeletedButAnInterruptedIndexingIsFinished() async throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try Fixtures.demoStandIn(in: directory, galleryImages: Self.galleryImages)
        let db = directory.appendingPathComponent("demo.sqlite").path
        let marker = db + ".gallery-pending"

        let first = try await ServerProcess.start(db: db, model: model)
        #expect(try await Self.waitForImages(first, count: Self.galleryImages.count) == Self.galleryImages.count)
        // Let the indexing finish (its marker gone) before deleting, so nothing races the deletes.
        for _ in 0..<600 where FileManager.default.fileExists(atPath: marker) { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!FileManager.default.fileExists(atPath: marker))
        let (_, list) = try await first.getJSON("/images?limit=100")
        let ids = ((list["images"] as? [[String: Any]]) ?? []).compactMap { ($0["id"] as? NSNumber)?.int64Value }
        #expect(ids.count == Self.galleryImages.count)
        for id in ids.dropFirst() {
            #expect(try await first.request("DELETE", "/images/\(id)").status == 204)
        }
        first.kill(SIGTERM)
        #expect(first.waitForExit() == 0)

        // A user's deletions are kept: the index is not empty, so the gallery is left alone.
        let second = try await ServerProcess.start(db: db, model: model)
        #expect(try await second.getJSON("/readyz").body["images"] as? Int == 1)
        try await Task.sleep(for: .seconds(1))
        #expect(try await second.getJSON("/readyz").body["images"] as? Int == 1)
        second.kill(SIGTERM)
        #expect(second.waitForExit() == 0)

        // As a first indexing stopped half-way leaves it: some images stored, the marker there.
        FileManager.default.createFile(atPath: marker, contents: Data())
        let log = directory.appendingPathComponent("third.log")
        let third = try await ServerProcess.start(db: db, model: model, log: log)
        defer { third.kill(SIGTERM) }
        #expect(try await Self.waitForImages(third, count: Self.galleryImages.count) == Self.galleryImages.count)
        try await Self.waitForLog(log, containing: "demo gallery: 3 images indexed, 1 unchanged")
        #expect(try String(contentsOf: log, encoding: .utf8).contains("the first indexing did not finish"))
        for _ in 0..<600 where FileManager.default.fileExists(atPath: marker) { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func aRealModelNeverIndexesAGallery() async throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try Fixtures.demoStandIn(in: directory, name: "real", isDemo: false, galleryImages: Self.galleryImages)
        let db = directory.appendingPathComponent("index.sqlite").path
        let log = directory.appendingPathComponent("serve.log")
        let server = try await ServerProcess.start(db: db, model: model, log: log)
        defer { server.kill(SIGTERM) }
        let ready = try await server.getJSON("/readyz").body
        #expect(ready["demo"] as? Bool == false)
        #expect(ready["demo_note"] == nil)
        #expect(ready["model"] as? String == "real")
        // Nothing runs in the background: still empty a moment later, and the log never says "demo".
        try await Task.sleep(for: .seconds(1))
        #expect(try await server.getJSON("/readyz").body["images"] as? Int == 0)
        let text = try String(contentsOf: log, encoding: .utf8)
        #expect(!text.contains("demo"), "\(text)")
    }

    // MARK: - Helpers

    /// Polls `/readyz` until it reports `count` images (up to a minute); returns the last count seen.
    static func waitForImages(_ server: ServerProcess, count: Int) async throws -> Int {
        var seen = -1
        for _ in 0..<600 {
            seen = try await server.getJSON("/readyz").body["images"] as? Int ?? -1
            if seen >= count { return seen }
            try await Task.sleep(for: .milliseconds(100))
        }
        return seen
    }

    /// Waits (up to a minute) until the log holds `text`; records an issue otherwise.
    static func waitForLog(_ log: URL, containing text: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for _ in 0..<600 {
            if (try? String(contentsOf: log, encoding: .utf8))?.contains(text) == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the log never said \"\(text)\": \((try? String(contentsOf: log, encoding: .utf8)) ?? "")", sourceLocation: sourceLocation)
    }
}
