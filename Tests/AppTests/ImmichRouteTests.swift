@testable import App
import CLIP
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// `POST /predict` and `GET /ping` as Immich's server calls its machine-learning service.
@Suite struct ImmichRouteTests {
    static func form(entries: String, text: String? = nil, image: [UInt8]? = nil) -> (body: [UInt8], contentType: String) {
        let boundary = "immich-boundary"
        var parts: [(field: String, filename: String?, bytes: [UInt8])] = [("entries", nil, Array(entries.utf8))]
        if let text { parts.append(("text", nil, Array(text.utf8))) }
        if let image { parts.append(("image", "blob", image)) }
        return (multipartBody(boundary: boundary, parts: parts), "multipart/form-data; boundary=\(boundary)")
    }

    static func entries(_ tower: String, model: String = Fixtures.encoder.name) -> String {
        #"{"clip":{"\#(tower)":{"modelName":"\#(model)","options":{"language":"en"}}}}"#
    }

    struct Prediction: Decodable { let clip: String; let imageHeight: Int?; let imageWidth: Int? }

    @Test func textAndImageEqualEmbed() async throws {
        let server = try TestServer()
        try await server.test { client in
            let image = try Fixtures.image("jpeg-exif3-360x270.jpg")
            let expected = try await client.embedVectors(texts: ["a cat"], images: [Data(image).base64EncodedString()])

            let text = Self.form(entries: Self.entries("textual"), text: "a cat")
            let textAnswer = try await client.raw(.post, "/predict", text.body, contentType: text.contentType)
            #expect(textAnswer.status == .ok)
            let textBody = try textAnswer.decoded(Prediction.self)
            #expect(try JSONDecoder().decode([Float].self, from: Data(textBody.clip.utf8)) == expected.textEmbeddings[0])
            #expect(textBody.imageWidth == nil)

            let visual = Self.form(entries: Self.entries("visual"), image: image)
            let imageBody = try await client.raw(.post, "/predict", visual.body, contentType: visual.contentType).decoded(Prediction.self)
            #expect(try JSONDecoder().decode([Float].self, from: Data(imageBody.clip.utf8)) == expected.imageEmbeddings[0])
            // EXIF orientation 3 keeps the sides: 360 x 270.
            #expect(imageBody.imageWidth == 360 && imageBody.imageHeight == 270)

            let ping = try await client.execute(uri: "/ping", method: .get)
            #expect(String(decoding: ping.bytes, as: UTF8.self) == "pong")
        }
    }

    /// FastAPI's shape: `{"detail": "..."}`; 422 for bad entries, 400 without an input.
    @Test func badRequestsGetImmichsErrors() async throws {
        let server = try TestServer()
        try await server.test { client in
            func expectDetail(_ entries: String, text: String? = "a", image: [UInt8]? = nil, _ status: HTTPResponse.Status,
                              sourceLocation: SourceLocation = #_sourceLocation) async throws {
                let form = Self.form(entries: entries, text: text, image: image)
                let response = try await client.raw(.post, "/predict", form.body, contentType: form.contentType)
                #expect(response.status == status, sourceLocation: sourceLocation)
                let detail = try response.object()["detail"] as? String
                #expect(detail?.isEmpty == false, "body: \(String(decoding: response.bytes, as: UTF8.self))", sourceLocation: sourceLocation)
            }
            for bad in ["{bad", "[]", #"{"clip":{}}"#, #"{"clip":{"textual":{}}}"#, #"{"facial-recognition":{"detection":{"modelName":"buffalo_l"}}}"#,
                        #"{"clip":{"textual":{"modelName":"x"},"visual":{"modelName":"x"}}}"#, Self.entries("textual", model: "ViT-L-14__openai"),
                        #"{"clip":{"textual":{"modelName":"\#(Fixtures.encoder.name)","extra":1}}}"#] {
                try await expectDetail(bad, .unprocessableContent)
            }
            try await expectDetail(Self.entries("textual"), text: nil, .badRequest)
            try await expectDetail(Self.entries("visual"), text: "a", .badRequest)
            try await expectDetail(Self.entries("textual"), text: "a", image: try Fixtures.image("png-rgb-tiny-50x37.png"), .badRequest)
            try await expectDetail(Self.entries("visual"), text: nil, image: [1, 2, 3], .unprocessableContent)
            try await expectDetail(Self.entries("textual"), text: String(repeating: "a", count: 2001), .badRequest)
            let noEntries = multipartBody(boundary: "b", parts: [("text", nil, Array("a".utf8))])
            let missing = try await client.raw(.post, "/predict", noEntries, contentType: "multipart/form-data; boundary=b")
            #expect(missing.status == .unprocessableContent)
            let json = try await client.json(.post, "/predict", ["text": "a"])
            let jsonDetail = try json.object()["detail"] as? String
            #expect(json.status == .unsupportedMediaType && jsonDetail != nil)
        }
    }

    /// Immich names OpenAI's ViT-B/32 `ViT-B-32__openai`: accepted when that is the loaded shape.
    @Test func familyNames() {
        #expect(ModelNames.family(of: .base) == "ViT-B-32")
        #expect(ModelNames.family(of: Fixtures.encoder.model.config) == nil)
        let names = ModelNames(name: "clip-vit-base-patch32", family: ModelNames.family(of: .base))
        for accepted in ["clip-vit-base-patch32", "ViT-B-32", "ViT-B-32__openai", "ViT-B-32::openai"] { #expect(names.accepts(accepted)) }
        for refused in ["ViT-L-14__openai", "ViT-B-32__laion2b_s34b_b79k", "XLM-Roberta-Large-Vit-B-32"] { #expect(!names.accepts(refused)) }
    }
}
