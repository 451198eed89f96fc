@testable import App
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The page and the spec come from the binary (Sources/App/Generated/PublicFiles.swift, made from
/// Public/ by tools/embed_public.py), so a server started anywhere serves them.
@Suite struct PublicFilesTests {
    @Test func embeddedCopyIsCurrent() throws {
        let folder = Fixtures.publicFolder
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }.sorted()
        #expect(PublicFiles.base64.keys.sorted() == names, "run `make embed-public` after changing Public/")
        for name in names {
            let onDisk = try Data(contentsOf: folder.appendingPathComponent(name))
            #expect(PublicFiles.base64[name].flatMap { Data(base64Encoded: $0) } == onDisk, "\(name) changed: run `make embed-public`")
        }
    }

    @Test func servedWithoutAFolder() async throws {
        let server = try TestServer(settings: ServerSettings(publicDirectory: nil))
        try await server.test { client in
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .ok && page.headers[.contentType]?.hasPrefix("text/html") == true)
            let spec = try await client.execute(uri: "/openapi.yaml", method: .get)
            #expect(spec.status == .ok && String(decoding: spec.bytes, as: UTF8.self).hasPrefix("openapi: 3"))
            for path in ["/../Package.swift", "/%2e%2e/Package.swift", "/..%2fSources/App/StaticFiles.swift"] {
                try expectError(try await client.execute(uri: path, method: .get), .badRequest, "invalid_path")
            }
            try expectError(try await client.execute(uri: "/Package.swift", method: .get), .notFound, "not_found")
        }
    }

    /// The served spec carries the loaded model's length and names where the file marks them.
    @Test func specCarriesTheLoadedModel() async throws {
        let server = try TestServer()
        try await server.test { client in
            let spec = String(decoding: try await client.execute(uri: "/openapi.yaml", method: .get).bytes, as: UTF8.self)
            let dimension = Fixtures.encoder.dimension
            #expect(spec.contains("minItems: \(dimension) # @dimension") && !spec.contains("minItems: 512 # @dimension"))
            #expect(spec.contains("enum: ['\(Fixtures.encoder.name)'] } # @model-names"))
            #expect(spec.contains("enum: ['\(Fixtures.encoder.name)', null] } # @index-name"))
        }
    }
}

/// The real binary, started in an empty folder without `--public`, serves the page and the spec.
@Suite struct PublicFilesProcessTests {
    @Test func servedFromAnotherWorkingDirectory() async throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // The demo model's weights and vocabulary, without demo.json (no gallery to index).
        let model = directory.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        for file in ["config.json", "model.safetensors", "vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(at: Fixtures.packageRoot.appendingPathComponent("Models/demo/\(file)"),
                                             to: model.appendingPathComponent(file))
        }
        let server = try await ServerProcess.start(db: directory.appendingPathComponent("index.sqlite").path, model: model,
                                                   directory: directory)
        defer { server.kill(SIGTERM); _ = server.waitForExit() }
        let page = try await server.get("/")
        #expect(page.status == 200 && String(decoding: page.body, as: UTF8.self).contains("<html"))
        let spec = try await server.get("/openapi.yaml")
        #expect(spec.status == 200 && String(decoding: spec.body, as: UTF8.self).hasPrefix("openapi: 3"))
        #expect(try await server.get("/app.js").status == 200)
        #expect(try await server.get("/nope.js").status == 404)
    }
}
