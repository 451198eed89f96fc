import App
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Weaviate's multi2vec-clip inference API: `/vectorize`, `/meta`, `/.well-known/live|ready`.
@Suite struct WeaviateRouteTests {
    struct Vectors: Decodable { let textVectors: [[Float]]; let imageVectors: [[Float]] }

    @Test func vectorizeEqualsEmbed() async throws {
        let server = try TestServer()
        try await server.test { client in
            let images = try ["jpeg-exif3-360x270.jpg", "png-rgb-tiny-50x37.png"].map { Data(try Fixtures.image($0)).base64EncodedString() }
            let expected = try await client.embedVectors(texts: ["a cat", "a dog"], images: images)
            let vectors = try await client.json(.post, "/vectorize", ["texts": ["a cat", "a dog"], "images": images]).decoded(Vectors.self)
            #expect(vectors.textVectors == expected.textEmbeddings && vectors.imageVectors == expected.imageEmbeddings)
            // Weaviate sends only the kind it has; nothing at all is two empty lists, as upstream.
            let textsOnly = try await client.json(.post, "/vectorize", ["texts": ["a cat"]]).decoded(Vectors.self)
            #expect(textsOnly.textVectors == [expected.textEmbeddings[0]] && textsOnly.imageVectors.isEmpty)
            let nothing = try await client.json(.post, "/vectorize", [String: Any]()).decoded(Vectors.self)
            #expect(nothing.textVectors.isEmpty && nothing.imageVectors.isEmpty)

            let meta = try await client.execute(uri: "/meta", method: .get).object()
            let model = try #require(meta["clip_model"] as? [String: Any])
            #expect(model["name"] as? String == Fixtures.encoder.name && model["dimension"] as? Int == Fixtures.encoder.dimension)
            #expect(try await client.execute(uri: "/.well-known/live", method: .get).status == .noContent)
            #expect(try await client.execute(uri: "/.well-known/ready", method: .get).status == .noContent)
        }
    }

    /// Errors are `{"error": "<message>"}`, a string, as the module reads them.
    @Test func errorsAreStrings() async throws {
        let server = try TestServer()
        try await server.test { client in
            func expectStringError(_ response: TestResponse, _ status: HTTPResponse.Status, sourceLocation: SourceLocation = #_sourceLocation) throws {
                #expect(response.status == status, sourceLocation: sourceLocation)
                #expect((try response.object()["error"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
            }
            try expectStringError(try await client.json(.post, "/vectorize", ["texts": [1]]), .badRequest)
            try expectStringError(try await client.json(.post, "/vectorize", ["images": ["AAAA"]]), .unprocessableContent)
            try expectStringError(try await client.json(.post, "/vectorize", ["images": ["%%%"]]), .badRequest)
            try expectStringError(try await client.json(.post, "/vectorize", ["texts": [String(repeating: "a", count: 2001)]]), .badRequest)
            try expectStringError(try await client.json(.post, "/vectorize", ["texts": [String](repeating: "a", count: 257)]), .badRequest)
            try expectStringError(try await client.json(.post, "/vectorize", ["vectors": []]), .badRequest)
            try expectStringError(try await client.raw(.post, "/vectorize", Array("{".utf8), contentType: "application/json"), .badRequest)
        }
        let loading = try TestServer(loaded: false)
        try await loading.test { client in
            let ready = try await client.execute(uri: "/.well-known/ready", method: .get)
            let readyError = try ready.object()["error"] as? String
            #expect(ready.status == .serviceUnavailable && readyError != nil)
            #expect(try await client.execute(uri: "/.well-known/live", method: .get).status == .noContent)
        }
    }
}
