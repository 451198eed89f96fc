import CLIP
import Foundation
import LibraryStore
import Testing

/// `clip-server index` and `search` run as the built binary (`swift build` makes it; `swift test`
/// builds every product first) on a temp folder of fixture images with the tiny test model.
@Suite("index and search commands", .serialized)
struct IndexCommandTests {
    static let testsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let packageRoot = testsFolder.deletingLastPathComponent()
    static let fixtureImages = testsFolder.appendingPathComponent("CLIPTests/Fixtures/images")
    static let tinyModel = testsFolder.appendingPathComponent("CLIPTests/Fixtures/model/tiny-hf-f16")
    /// Fetched by `make setup` (not committed), as the tokenizer tests use it.
    static let vocabulary = packageRoot.appendingPathComponent("Models/bpe_simple_vocab_16e6.txt.gz")
    static let imageNames = [
        "jpeg-baseline-landscape-640x480.jpg", "jpeg-exif6-400x300.jpg", "jpeg-gray-300x400.jpg",
        "png-rgb-tiny-50x37.png", "png-rgba-300x200.png", "png-palette-trns-240x180.png",
    ]

    /// The binary beside the test bundle, else the package's .build/debug.
    static var binary: URL {
        let besideTests = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("clip-server")
        if FileManager.default.isExecutableFile(atPath: besideTests.path) { return besideTests }
        return packageRoot.appendingPathComponent(".build/debug/clip-server")
    }

    /// A work folder with `photos/` (images, a subfolder, a text file and a corrupt JPEG) and
    /// `Models/bpe_simple_vocab_16e6.txt.gz` (the vocabulary fallback is relative to the working
    /// folder).
    struct Workspace {
        let root: URL
        var photos: URL { root.appendingPathComponent("photos") }
        var database: URL { root.appendingPathComponent("data/index.sqlite") }

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("clip-cli-\(UUID().uuidString)")
            let manager = FileManager.default
            try manager.createDirectory(at: root.appendingPathComponent("photos/nested/deeper"), withIntermediateDirectories: true)
            try manager.createDirectory(at: root.appendingPathComponent("Models"), withIntermediateDirectories: true)
            try manager.copyItem(at: vocabulary, to: root.appendingPathComponent("Models/bpe_simple_vocab_16e6.txt.gz"))
            for (i, name) in imageNames.enumerated() {
                let folder = i % 2 == 0 ? "photos" : "photos/nested/deeper"
                try manager.copyItem(at: fixtureImages.appendingPathComponent(name),
                                     to: root.appendingPathComponent("\(folder)/\(name)"))
            }
            try Data("not an image".utf8).write(to: root.appendingPathComponent("photos/notes.txt"))
            var truncated = try [UInt8](Data(contentsOf: fixtureImages.appendingPathComponent(imageNames[0])))
            truncated.removeLast(truncated.count / 2)
            try Data(truncated).write(to: root.appendingPathComponent("photos/nested/truncated.jpg"))
        }

        func cleanup() { try? FileManager.default.removeItem(at: root) }

        func path(of name: String) -> String {
            let i = imageNames.firstIndex(of: name)!
            return photos.appendingPathComponent(i % 2 == 0 ? name : "nested/deeper/\(name)").path
        }
    }

    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ arguments: [String], in folder: URL) throws -> Run {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = folder
        var environment = ProcessInfo.processInfo.environment
        environment["CLIP_MODEL"] = tinyModel.path
        environment.removeValue(forKey: "CLIP_DB")
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting, so a full pipe cannot block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func summary(_ run: Run) throws -> [String: Int] {
        let line = try #require(run.stdout.split(separator: "\n").last, "no summary line; stderr: \(run.stderr)")
        return try JSONDecoder().decode([String: Int].self, from: Data(line.utf8))
    }

    static func openIndex(_ workspace: Workspace) throws -> SQLiteLibrary {
        let model = try CLIPModel(directory: tinyModel)
        return try SQLiteLibrary(databasePath: workspace.database.path, dataDirectory: workspace.database.deletingLastPathComponent(),
                              modelName: model.name, dimension: model.config.projectionDim)
    }

    @Test func indexSkipsUnchangedRecognizesMovesAndPrunes() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build first: swift build")
        let workspace = try Workspace()
        defer { workspace.cleanup() }

        // First run: every image indexed, the text file skipped quietly, the truncated JPEG reported.
        let first = try Self.run(["index", "photos"], in: workspace.root)
        #expect(first.status == 0, "stderr: \(first.stderr)")
        #expect(try Self.summary(first) == ["indexed": 6, "skipped": 0, "moved": 0, "failed": 1, "pruned": 0,
                                            "not_images": 1, "reembedded": 0])
        #expect(first.stderr.contains("truncated.jpg"))
        #expect(!first.stderr.contains("notes.txt"))
        #expect(first.stderr.contains("index: 8/8 files"))

        var ids: [String: Int64] = [:]
        do {
            let index = try Self.openIndex(workspace)
            #expect(index.vectors.count == 6)
            for name in Self.imageNames {
                let image = try #require(try index.indexedFile(path: workspace.path(of: name)), "\(name) not indexed")
                ids[name] = image.id
                // Referenced in place, with the decoder's upright size and the file's bytes.
                let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: workspace.path(of: name))))
                let decoded = try ImageDecoder.decode(bytes)
                #expect(image.storedPath == nil)
                #expect(image.sha256 == ContentHash.sha256Hex(bytes))
                #expect(image.byteSize == bytes.count)
                #expect((image.width, image.height) == (decoded.width, decoded.height))
                #expect(image.mime == (name.hasSuffix(".png") ? "image/png" : "image/jpeg"))
                // Its thumbnail decodes with the long side 256 (or the image's own when smaller).
                let thumbnail = try ImageDecoder.decode(try #require(try index.thumbnail(id: image.id)))
                #expect(max(thumbnail.width, thumbnail.height) == min(256, max(decoded.width, decoded.height)))
            }
            // Nothing copied into the data folder.
            #expect(!FileManager.default.fileExists(atPath: workspace.root.appendingPathComponent("data/originals").path))

            // The stored vector is what `embed --image` prints for the same file.
            let name = Self.imageNames[0]
            let embed = try Self.run(["embed", "--image", workspace.path(of: name)], in: workspace.root)
            #expect(embed.status == 0, "stderr: \(embed.stderr)")
            struct Line: Decodable { let embedding: [Float] }
            let expected = try JSONDecoder().decode(Line.self, from: Data(embed.stdout.utf8)).embedding
            let stored = try #require(index.vectors.vector(of: ids[name]!))
            #expect(stored.count == expected.count)
            for (a, b) in zip(stored, expected) { #expect(abs(a - b) < 1e-5) }
        }

        // Second run: nothing changed, nothing re-read.
        let second = try Self.run(["index", "photos"], in: workspace.root)
        #expect(try Self.summary(second) == ["indexed": 0, "skipped": 6, "moved": 0, "failed": 1, "pruned": 0,
                                             "not_images": 1, "reembedded": 0])

        // A moved file keeps its id and embedding; a deleted one is pruned.
        let movedName = Self.imageNames[1]
        let newPath = workspace.photos.appendingPathComponent("renamed.jpg").path
        try FileManager.default.moveItem(atPath: workspace.path(of: movedName), toPath: newPath)
        let removedName = Self.imageNames[2]
        try FileManager.default.removeItem(atPath: workspace.path(of: removedName))
        let embeddingBefore = try Self.openIndex(workspace).vectors.vector(of: ids[movedName]!)
        let third = try Self.run(["index", "--prune", "photos"], in: workspace.root)
        #expect(try Self.summary(third) == ["indexed": 0, "skipped": 4, "moved": 1, "failed": 1, "pruned": 1,
                                            "not_images": 1, "reembedded": 0])
        let index = try Self.openIndex(workspace)
        #expect(index.vectors.count == 5)
        let moved = try #require(try index.indexedFile(path: newPath))
        #expect(moved.id == ids[movedName])
        #expect(index.vectors.vector(of: moved.id) == embeddingBefore)
        #expect(try index.indexedFile(path: workspace.path(of: movedName)) == nil)
        #expect(try index.image(id: ids[removedName]!) == nil)

        // search --json: k lines, best first, the same ranking as the library's search on `embed --text`.
        let search = try Self.run(["search", "a red square", "-k", "3", "--json"], in: workspace.root)
        #expect(search.status == 0, "stderr: \(search.stderr)")
        struct Hit: Decodable { let rank: Int; let score: Float; let id: Int64; let source: String }
        let hits = try search.stdout.split(separator: "\n").map { try JSONDecoder().decode(Hit.self, from: Data($0.utf8)) }
        #expect(hits.map(\.rank) == [1, 2, 3])
        let embedText = try Self.run(["embed", "--text", "a red square"], in: workspace.root)
        struct Line: Decodable { let embedding: [Float] }
        let query = try JSONDecoder().decode(Line.self, from: Data(embedText.stdout.utf8)).embedding
        let expected = try index.search(query, k: 3).hits
        #expect(hits.map(\.id) == expected.map(\.image.id))
        for (hit, reference) in zip(hits, expected) {
            #expect(abs(hit.score - reference.score) < 1e-5)
            #expect(hit.source == reference.image.source)
        }

        // The table form: a header and k rows.
        let table = try Self.run(["search", "a red square", "-k", "2"], in: workspace.root)
        let rows = table.stdout.split(separator: "\n")
        #expect(rows.count == 3)
        #expect(rows.first?.hasPrefix("rank") == true)
    }

    @Test func anotherModelReembedsInsteadOfMixing() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build first: swift build")
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let otherModel = Self.testsFolder.appendingPathComponent("CLIPTests/Fixtures/model/tiny-openclip-f32").path
        #expect(try Self.summary(try Self.run(["index", "photos"], in: workspace.root))["indexed"] == 6)

        // The other model sees no vectors of its own: search finds nothing, index says so.
        let empty = try Self.run(["search", "--model", otherModel, "anything", "--json"], in: workspace.root)
        #expect(empty.status == 0)
        #expect(empty.stdout.isEmpty)
        let note = try Self.run(["index", "--model", otherModel, "photos/nested/truncated.jpg"], in: workspace.root)
        #expect(note.stderr.contains("6 stored images have no tiny-openclip-f32 embedding"))

        // --reembed gives every stored image a vector of the new model; the old ones stay.
        let reembed = try Self.run(["index", "--model", otherModel, "--reembed"], in: workspace.root)
        #expect(reembed.status == 0, "stderr: \(reembed.stderr)")
        #expect(try Self.summary(reembed)["reembedded"] == 6)
        let hits = try Self.run(["search", "--model", otherModel, "anything", "-k", "10", "--json"], in: workspace.root)
        #expect(hits.stdout.split(separator: "\n").count == 6)
        let old = try Self.run(["search", "anything", "-k", "10", "--json"], in: workspace.root)
        #expect(old.stdout.split(separator: "\n").count == 6)
        // Nothing left to re-embed, and a plain re-index of the folder skips everything.
        #expect(try Self.summary(try Self.run(["index", "--model", otherModel, "--reembed"], in: workspace.root))["reembedded"] == 0)
        #expect(try Self.summary(try Self.run(["index", "--model", otherModel, "photos"], in: workspace.root))["skipped"] == 6)
    }

    @Test func badArgumentsFailWithOneLine() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build first: swift build")
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let badK = try Self.run(["search", "x", "-k", "0"], in: workspace.root)
        #expect(badK.status != 0)
        #expect(badK.stderr.contains("-k"))
        let noModel = try Self.run(["index", "--model", "/nonexistent/model", "photos"], in: workspace.root)
        #expect(noModel.status != 0)
        #expect(noModel.stdout.isEmpty)
        #expect(noModel.stderr.contains("/nonexistent/model"))
        // A missing path is reported and counted; the rest is still indexed.
        let missing = try Self.run(["index", "photos/nested/deeper", "no-such-folder"], in: workspace.root)
        #expect(missing.status == 0)
        #expect(missing.stderr.contains("no-such-folder"))
        #expect(try Self.summary(missing)["indexed"] == 3)
        #expect(try Self.summary(missing)["failed"] == 1)
    }
}
