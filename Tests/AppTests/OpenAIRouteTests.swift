import App
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// `POST /v1/embeddings` and `GET /v1/models` as the `openai` package and infinity's clients use them.
@Suite struct OpenAIRouteTests {
    struct Body: Decodable {
        struct Item: Decodable { let object: String; let index: Int; let embedding: [Float] }
        let object: String
        let data: [Item]
        let model: String
        let usage: [String: Int]
    }

    struct Base64Body: Decodable {
        struct Item: Decodable { let index: Int; let embedding: String }
        let data: [Item]
    }

    static func floats(base64: String) throws -> [Float] {
        let data = try #require(Data(base64Encoded: base64))
        return stride(from: 0, to: data.count, by: 4).map { i in
            Float(bitPattern: data[i..<i + 4].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) })
        }
    }

    @Test func textsAndImagesEqualEmbed() async throws {
        let server = try TestServer()
        let model = Fixtures.encoder.name
        try await server.test { client in
            let image = try Fixtures.image("jpeg-exif3-360x270.jpg")
            let base64 = Data(image).base64EncodedString()
            let expected = try await client.embedVectors(texts: ["a cat", "two dogs"], images: [base64])

            let one = try await client.json(.post, "/v1/embeddings", ["model": model, "input": "a cat"]).decoded(Body.self)
            #expect(one.object == "list" && one.model == model && one.data.map(\.object) == ["embedding"])
            #expect(one.data[0].embedding == expected.textEmbeddings[0])
            #expect((one.usage["prompt_tokens"] ?? 0) > 0 && one.usage["prompt_tokens"] == one.usage["total_tokens"])

            let many = try await client.json(.post, "/v1/embeddings", ["model": model, "input": ["a cat", "two dogs"], "encoding_format": "base64"])
                .decoded(Base64Body.self)
            #expect(many.data.map(\.index) == [0, 1])
            #expect(try many.data.map { try Self.floats(base64: $0.embedding) } == expected.textEmbeddings)

            for input in ["data:image/jpeg;base64,\(base64)", base64] {
                let images = try await client.json(.post, "/v1/embeddings", ["input": [input], "modality": "image", "encoding_format": "float"])
                    .decoded(Body.self)
                #expect(images.data[0].embedding == expected.imageEmbeddings[0])
                #expect(images.usage["prompt_tokens"] == 0)
            }

            let models = try await client.execute(uri: "/v1/models", method: .get).object()
            let ids = (models["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(ids == [model])
        }
    }

    @Test func badInputIsRefused() async throws {
        let server = try TestServer()
        try await server.test { client in
            let model = Fixtures.encoder.name
            try expectError(try await client.json(.post, "/v1/embeddings", ["model": "text-embedding-3-small", "input": "a"]), .notFound, "model_not_found")
            try expectError(try await client.json(.post, "/v1/embeddings", ["model": model, "input": [1, 2, 3]]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/v1/embeddings", ["model": model, "input": []]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/v1/embeddings", ["model": model]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/v1/embeddings", ["input": "a", "encoding_format": "int8"]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/v1/embeddings", ["input": "a", "modality": "audio"]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/v1/embeddings", ["input": "a", "dimensions": 3]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/v1/embeddings", ["input": String(repeating: "x", count: 2001)]), .badRequest, "text_too_long")
            try expectError(try await client.json(.post, "/v1/embeddings", ["input": ["https://example.com/a.jpg"], "modality": "image"]),
                            .badRequest, "url_not_fetched")
            try expectError(try await client.json(.post, "/v1/embeddings", ["input": ["not base64!"], "modality": "image"]), .badRequest, "bad_base64")
            try expectError(try await client.json(.post, "/v1/embeddings", ["input": ["AAAA"], "modality": "image"]), .unprocessableContent, "bad_image")
            let tooMany = [String](repeating: "AAAA", count: 65)
            try expectError(try await client.json(.post, "/v1/embeddings", ["input": tooMany, "modality": "image"]), .badRequest, "invalid_field")
            try expectError(try await client.raw(.post, "/v1/embeddings", Array(#"{"input":"a"}"#.utf8), contentType: "text/plain"),
                            .unsupportedMediaType, "unsupported_media_type")
        }
    }
}

extension OpenAIRouteTests {
    /// A data URI whose media type holds a combining mark or an emoji modifier right after "data:"
    /// (they would merge with ":" into one Character) is still cut at its first ","
    /// (found by schemathesis).
    @Test func dataURIPrefixIsReadAsBytes() async throws {
        let server = try TestServer()
        try await server.test { client in
            let base64 = Data(try Fixtures.image("png-rgb-tiny-50x37.png")).base64EncodedString()
            let expected = try await client.embedVectors(images: [base64]).imageEmbeddings[0]
            for prefix in ["data:\u{1F3FB}x,", "data:\u{0301},", "data:\u{2}\u{B},"] {
                let response = try await client.json(.post, "/v1/embeddings", ["input": [prefix + base64], "modality": "image"])
                #expect(try response.decoded(Body.self).data[0].embedding == expected, "prefix \(prefix.unicodeScalars.map { $0.value })")
            }
        }
    }
}
