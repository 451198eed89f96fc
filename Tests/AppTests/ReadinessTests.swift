import App
import Foundation
import HummingbirdTesting
import Testing

/// `GET /readyz`: what is loaded (model, dimension, images, demo or not, API key or not), which the
/// page reads; and how a demo model folder is recognised.
@Suite struct ReadinessTests {
    @Test func readyzDescribesARealModel() async throws {
        let server = try TestServer()
        try await server.test { client in
            let first = try await client.execute(uri: "/readyz", method: .get)
            #expect(first.status == .ok)
            let body = try first.object()
            #expect(body["status"] as? String == "ready")
            #expect(body["model"] as? String == "tiny-hf-f16")
            #expect(body["dimension"] as? Int == Fixtures.encoder.dimension)
            #expect(body["images"] as? Int == 0)
            #expect(body["demo"] as? Bool == false)
            #expect(body["demo_note"] == nil, "no demo_note for a real model")
            #expect(body["api_key_required"] as? Bool == false)
            #expect(Set(body.keys) == ["status", "model", "dimension", "images", "demo", "api_key_required"])

            _ = try await client.uploadID(try Fixtures.image(Fixtures.smallImages[0]), name: "one")
            let after = try await client.execute(uri: "/readyz", method: .get).object()
            #expect(after["images"] as? Int == 1)
        }
    }

    @Test func readyzDescribesTheDemoModel() async throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let demo = try #require(DemoModel.detect(modelDirectory: try Fixtures.demoStandIn(in: directory)))
        let settings = ServerSettings(apiKey: "secret", publicDirectory: Fixtures.publicFolder)
        let server = try TestServer(settings: settings, demo: demo)
        try await server.test { client in
            let response = try await client.execute(uri: "/readyz", method: .get)
            #expect(response.status == .ok)
            let body = try response.object()
            #expect(body["status"] as? String == "ready")
            #expect(body["demo"] as? Bool == true)
            #expect(body["api_key_required"] as? Bool == true)
            let note = try #require(body["demo_note"] as? String)
            #expect(note.hasPrefix("clip-server-demo, a small CLIP"))
            #expect(note.contains("make fetch-model") && note.contains("clip-server fetch-model"))
            #expect(note.contains("Models/clip-vit-base-patch32"))
        }
    }

    @Test func readyzIsUnavailableWhileLoading() async throws {
        let server = try TestServer(loaded: false)
        try await server.test { client in
            try expectError(try await client.execute(uri: "/readyz", method: .get), .serviceUnavailable, "not_ready")
        }
    }

    // MARK: - Recognising the demo model

    @Test func aFolderWithoutDemoJSONIsARealModel() {
        #expect(DemoModel.detect(modelDirectory: Fixtures.model) == nil)
    }

    @Test func demoJSONIsRead() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let folder = try Fixtures.demoStandIn(in: directory)
        let demo = try #require(DemoModel.detect(modelDirectory: folder))
        #expect(demo.name == "clip-server-demo")
        #expect(demo.description == "A stand-in for the demo model.")
        #expect(demo.gallery == folder.appendingPathComponent("gallery").standardizedFileURL)
        #expect(demo.problem == nil)
    }

    @Test func aBrokenDemoJSONStillMarksTheDemoWithDefaults() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let folder = try Fixtures.demoStandIn(in: directory, name: "mydemo")
        try Data("{not json".utf8).write(to: folder.appendingPathComponent("demo.json"))
        let demo = try #require(DemoModel.detect(modelDirectory: folder))
        #expect(demo.name == "mydemo")
        #expect(demo.gallery == folder.appendingPathComponent("gallery").standardizedFileURL)
        let problem = try #require(demo.problem)
        #expect(problem.contains("demo.json"))
    }
}
