import App
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// clip-retrieval's back end: what ClipClient and clip-front send, and what they read back.
@Suite struct ClipRetrievalRouteTests {
    struct Result: Decodable { let id: Int64; let similarity: Float; let url: String; let caption: String; let image_path: String }

    /// Exactly what ClipClient posts (clip_client.py `__search_knn_api__`), with one input set.
    static func clipClientBody(text: String? = nil, image: String? = nil, embedding: [Float]? = nil, index: String) -> [String: Any] {
        ["text": text as Any? ?? NSNull(), "image": image as Any? ?? NSNull(), "image_url": NSNull(),
         "embedding_input": embedding.map { $0.map(Double.init) } as Any? ?? NSNull(),
         "deduplicate": true, "use_safety_model": true, "use_violence_detector": true, "indice_name": index,
         "use_mclip": false, "aesthetic_score": 9, "aesthetic_weight": 0.5, "modality": "image", "num_images": 3, "num_result_ids": 3]
    }

    @Test func knnServiceAnswersClipClient() async throws {
        let server = try TestServer()
        try await server.test { client in
            let (ids, base64) = try await client.uploadSmallImages()
            let indices = try await client.execute(uri: "/indices-list", method: .get)
            let index = try #require(try indices.decoded([String].self).first)
            #expect(index == Fixtures.encoder.name)

            let byText = try await client.untypedJSON("/knn-service", Self.clipClientBody(text: "a photo", index: index))
            #expect(byText.status == .ok)
            let results = try byText.decoded([Result].self)
            #expect(results.count == 3)
            #expect(results.map(\.similarity) == results.map(\.similarity).sorted(by: >))

            // The image's own vector finds it first, and the same similarity as its /embed vector.
            let byImage = try await client.untypedJSON("/knn-service", Self.clipClientBody(image: base64[2], index: index)).decoded([Result].self)
            #expect(byImage.first?.id == ids[2])
            let vector = try await client.embedVectors(images: [base64[2]]).imageEmbeddings[0]
            let byVector = try await client.untypedJSON("/knn-service", Self.clipClientBody(embedding: vector.map { $0 * 3 }, index: index)).decoded([Result].self)
            #expect(byVector.map(\.id) == byImage.map(\.id))
            #expect(byImage.first?.url.hasSuffix("/images/\(ids[2])") == true)
            #expect(byImage.first?.caption == "jpeg-exif3-360x270")

            // Metadata of known ids in order; unknown ids left out. JSON with Content-Type works too.
            let metadata = try await client.json(.post, "/metadata", ["ids": [ids[1], 999_999, ids[0]], "indice_name": index])
            #expect(metadata.status == .ok)
            let entries = try #require(try JSONSerialization.jsonObject(with: Data(metadata.body.readableBytesView)) as? [[String: Any]])
            #expect(entries.compactMap { ($0["id"] as? NSNumber)?.int64Value } == [ids[1], ids[0]])
        }
    }

    @Test func knnServiceRefusesWhatItCannotDo() async throws {
        let server = try TestServer()
        try await server.test { client in
            let index = Fixtures.encoder.name
            var body = Self.clipClientBody(index: index)
            body["image_url"] = "https://example.com/cat.jpg"
            try expectError(try await client.untypedJSON("/knn-service", body), .badRequest, "url_not_fetched")
            try expectError(try await client.untypedJSON("/knn-service", Self.clipClientBody(index: index)), .badRequest, "invalid_query")
            var both = Self.clipClientBody(text: "a", index: index)
            both["image"] = "AAAA"
            try expectError(try await client.untypedJSON("/knn-service", both), .badRequest, "invalid_query")
            var textIndex = Self.clipClientBody(text: "a", index: index)
            textIndex["modality"] = "text"
            try expectError(try await client.untypedJSON("/knn-service", textIndex), .badRequest, "invalid_field")
            try expectError(try await client.untypedJSON("/knn-service", Self.clipClientBody(text: "a", index: "laion5B")), .notFound, "not_found")
            try expectError(try await client.untypedJSON("/knn-service", Self.clipClientBody(embedding: [1, 2], index: index)), .badRequest, "invalid_field")
            let zero = [Float](repeating: 0, count: Fixtures.encoder.dimension)
            let none = try await client.untypedJSON("/knn-service", Self.clipClientBody(embedding: zero, index: index))
            #expect(none.status == .ok && String(decoding: none.bytes, as: UTF8.self) == "[]")
            try expectError(try await client.untypedJSON("/knn-service", Self.clipClientBody(text: String(repeating: "a", count: 2001), index: index)),
                            .badRequest, "text_too_long")
            var unknown = Self.clipClientBody(text: "a", index: index)
            unknown["colour"] = "red"
            try expectError(try await client.untypedJSON("/knn-service", unknown), .badRequest, "unknown_field")
            // Only JSON or no Content-Type: a form post from a page cannot reach it.
            try expectError(try await client.raw(.post, "/knn-service", Array(#"{"text":"a"}"#.utf8), contentType: "text/plain"),
                            .unsupportedMediaType, "unsupported_media_type")
            try expectError(try await client.untypedJSON("/metadata", ["ids": [1.5]]), .badRequest, "invalid_field")
            try expectError(try await client.untypedJSON("/metadata", ["indice_name": index]), .badRequest, "invalid_field")
        }
    }
}
