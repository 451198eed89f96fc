import App
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Every bad input gets a 4xx and the JSON error envelope; none crashes the server.
@Suite struct BadInputTests {
    @Test func randomBytesAndTruncatedJPEGAreBadImages() async throws {
        let server = try TestServer()
        try await server.test { client in
            var generator = SystemRandomNumberGenerator()
            let random = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try expectError(try await client.upload(random, name: "random.jpg"), .unprocessableContent, "bad_image")
            let jpeg = try Fixtures.image("jpeg-baseline-landscape-640x480.jpg")
            try expectError(try await client.upload(Array(jpeg.prefix(jpeg.count / 3)), name: "cut.jpg"), .unprocessableContent, "bad_image")
            try expectError(try await client.upload([], name: "empty.jpg"), .unprocessableContent, "bad_image")
            let png = try Fixtures.image("png-rgb-odd-333x517.png")
            try expectError(try await client.upload(Array(png.prefix(png.count / 2)), name: "cut.png"), .unprocessableContent, "bad_image")
            // Same through the JSON routes.
            let base64 = Data(random).base64EncodedString()
            try expectError(try await client.json(.post, "/search", ["image": base64]), .unprocessableContent, "bad_image")
            try expectError(try await client.json(.post, "/embed", ["images": [base64]]), .unprocessableContent, "bad_image")
            try expectError(try await client.json(.post, "/classify", ["image": base64, "labels": ["a"]]), .unprocessableContent, "bad_image")
            #expect(try await client.execute(uri: "/images", method: .get).object()["total"] as? Int == 0)
        }
    }

    @Test func malformedJSONAndWrongTypes() async throws {
        let server = try TestServer()
        try await server.test { client in
            for text in ["{", "not json", "[1,2]", "\"text\"", ""] {
                try expectError(try await client.raw(.post, "/search", Array(text.utf8), contentType: "application/json"), .badRequest, "bad_json")
            }
            try expectError(try await client.raw(.post, "/embed", Array("{\"texts\": [".utf8), contentType: "application/json"), .badRequest, "bad_json")
            let deep = "{\"text\":\"x\",\"negative\":" + String(repeating: "[", count: 400) + String(repeating: "]", count: 400) + "}"
            try expectError(try await client.raw(.post, "/search", Array(deep.utf8), contentType: "application/json"), .badRequest, "bad_json")
            // Brackets inside strings are text, not nesting.
            let bracketText = try await client.json(.post, "/search", ["text": String(repeating: "[{", count: 100)])
            #expect(bracketText.status == .ok)
            try expectError(try await client.json(.post, "/search", ["text": 5]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/search", ["text": "x", "k": "ten"]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/search", ["text": "x", "k": 2.5]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/search", ["text": "x", "negative": "y"]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/search", ["text": "x", "negative": [1]]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/search", ["text": "x", "min_score": "high"]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/search", ["image_id": "7"]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/search", ["text": "x", "colour": "red"]), .badRequest, "unknown_field")
            try expectError(try await client.json(.post, "/embed", ["texts": "a cat"]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/embed", [:] as [String: Any]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/classify", ["image_id": 1, "labels": "cat"]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/classify", ["image_id": 1, "labels": []]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/search", ["image": "%%% not base64 %%%"]), .badRequest, "bad_base64")
            try expectError(try await client.execute(uri: "/search?q=x&bogus=1", method: .get), .badRequest, "unknown_field")
            try expectError(try await client.execute(uri: "/images?limit=abc", method: .get), .badRequest, "invalid_field")
            try expectError(try await client.execute(uri: "/images/abc", method: .get), .badRequest, "invalid_field")
        }
    }

    @Test func exactlyOneQueryKind() async throws {
        let server = try TestServer()
        try await server.test { client in
            try expectError(try await client.json(.post, "/search", ["k": 3]), .badRequest, "invalid_query")
            try expectError(try await client.json(.post, "/search", ["text": "a", "image_id": 1]), .badRequest, "invalid_query")
            try expectError(try await client.execute(uri: "/search", method: .get), .badRequest, "invalid_query")
            try expectError(try await client.json(.post, "/classify", ["labels": ["a"]]), .badRequest, "invalid_query")
            // A query cancelled out entirely by its negative is refused, not divided by zero.
            try expectError(try await client.json(.post, "/search", ["text": "same", "negative": ["same"]]), .badRequest, "invalid_query")
        }
    }

    @Test func kOutOfRange() async throws {
        let server = try TestServer()
        try await server.test { client in
            for k in [0, 100_000, -1, 1001] {
                try expectError(try await client.json(.post, "/search", ["text": "x", "k": k]), .badRequest, "invalid_field")
                try expectError(try await client.execute(uri: "/search?q=x&k=\(k)", method: .get), .badRequest, "invalid_field")
            }
            try expectError(try await client.json(.post, "/search", ["text": "x", "k": 1e300]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/search", ["text": "x", "offset": -1]), .badRequest, "invalid_field")
            #expect(try await client.json(.post, "/search", ["text": "x", "k": 1000]).status == .ok)
            #expect(try await client.json(.post, "/search", ["text": "x", "k": 1]).status == .ok)
        }
    }

    @Test func unknownIDs() async throws {
        let server = try TestServer()
        try await server.test { client in
            try expectError(try await client.execute(uri: "/images/424242", method: .get), .notFound, "not_found")
            try expectError(try await client.execute(uri: "/images/424242/thumbnail", method: .get), .notFound, "not_found")
            try expectError(try await client.execute(uri: "/images/424242", method: .delete), .notFound, "not_found")
            try expectError(try await client.json(.post, "/search", ["image_id": 424242]), .notFound, "not_found")
            try expectError(try await client.json(.post, "/classify", ["image_id": 424242, "labels": ["a"]]), .notFound, "not_found")
            try expectError(try await client.execute(uri: "/no-such-route", method: .get), .notFound, "not_found")
        }
    }

    @Test func bodyOverTheLimit() async throws {
        let server = try TestServer(settings: ServerSettings(maxBodyBytes: 64 << 10))
        try await server.test { client in
            let big = [UInt8](repeating: 0xFF, count: 100 << 10)
            try expectError(try await client.raw(.post, "/index", big, contentType: "image/jpeg"), .contentTooLarge, "body_too_large")
            let json = Array("{\"text\":\"\(String(repeating: "a", count: 100 << 10))\"}".utf8)
            try expectError(try await client.raw(.post, "/search", json, contentType: "application/json"), .contentTooLarge, "body_too_large")
            // Without Content-Length (streamed), the limit still holds.
            let streamed = try await client.execute(uri: "/embed", method: .post, headers: [.contentType: "application/json", .transferEncoding: "chunked"],
                                                    body: ByteBuffer(bytes: json))
            try expectError(streamed, .contentTooLarge, "body_too_large")
        }
    }

    @Test func tooManyPixels() async throws {
        let server = try TestServer(settings: ServerSettings(maxPixels: 100 * 100))
        try await server.test { client in
            try expectError(try await client.upload(try Fixtures.image("jpeg-exact-224x224.jpg"), name: "big.jpg"), .contentTooLarge, "too_many_pixels")
            #expect(try await client.upload(try Fixtures.image("png-rgb-tiny-50x37.png"), name: "small.png").status == .ok)
        }
    }

    @Test func unsupportedUploads() async throws {
        let server = try TestServer()
        try await server.test { client in
            try expectError(try await client.raw(.post, "/index", [1, 2, 3], contentType: "text/plain"), .unsupportedMediaType, "unsupported_media_type")
            try expectError(try await client.raw(.post, "/index", [1, 2, 3], contentType: "multipart/form-data"), .badRequest, "bad_multipart")
            let body = multipartBody(boundary: "b0undary", parts: [("file", "x.jpg", try Fixtures.image("png-rgb-tiny-50x37.png"))])
            try expectError(try await client.raw(.post, "/index", body, contentType: "multipart/form-data; boundary=b0undary"), .badRequest, "bad_multipart")
            let cut = Array(multipartBody(boundary: "b0undary", parts: [("image", "x.png", try Fixtures.image("png-rgb-tiny-50x37.png"))]).prefix(300))
            try expectError(try await client.raw(.post, "/index", cut, contentType: "multipart/form-data; boundary=b0undary"), .badRequest, "bad_multipart")
            try expectError(try await client.raw(.post, "/index", Array("garbage\r\n\r\n".utf8), contentType: "multipart/form-data; boundary=zz"), .badRequest, "bad_multipart")
        }
    }

    @Test func apiKeyGuardsWrites() async throws {
        let server = try TestServer(settings: ServerSettings(apiKey: "s3cret"))
        try await server.test { client in
            let bytes = try Fixtures.image("png-rgb-tiny-50x37.png")
            try expectError(try await client.upload(bytes, name: "x.png"), .unauthorized, "unauthorized")
            try expectError(try await client.upload(bytes, name: "x.png", apiKey: "wrong"), .unauthorized, "unauthorized")
            try expectError(try await client.upload(bytes, name: "x.png", apiKey: "s3cret-longer"), .unauthorized, "unauthorized")
            let ok = try await client.upload(bytes, name: "x.png", apiKey: "s3cret")
            #expect(ok.status == .ok)
            let id = try #require(((try ok.object()["indexed"] as? [[String: Any]])?.first?["id"] as? NSNumber)?.int64Value)
            try expectError(try await client.execute(uri: "/images/\(id)", method: .delete), .unauthorized, "unauthorized")
            // Reads stay open.
            #expect(try await client.execute(uri: "/images/\(id)", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/search?q=x", method: .get).status == .ok)
            let deleted = try await client.execute(uri: "/images/\(id)", method: .delete, headers: [.authorization: "Bearer s3cret"])
            #expect(deleted.status == .noContent)
        }
    }

    @Test func pathTraversalOnStaticFiles() async throws {
        // A Public folder with a symlink pointing out of it.
        let publicFolder = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: publicFolder) }
        try Data("<p>hi</p>".utf8).write(to: publicFolder.appendingPathComponent("index.html"))
        let outside = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: outside) }
        try Data("secret".utf8).write(to: outside.appendingPathComponent("secret.txt"))
        try FileManager.default.createSymbolicLink(at: publicFolder.appendingPathComponent("leak.txt"),
                                                   withDestinationURL: outside.appendingPathComponent("secret.txt"))
        try FileManager.default.createSymbolicLink(at: publicFolder.appendingPathComponent("outdir"), withDestinationURL: outside)

        let server = try TestServer(settings: ServerSettings(publicDirectory: publicFolder))
        try await server.test { client in
            #expect(try await client.execute(uri: "/", method: .get).status == .ok)
            for path in ["/../Package.swift", "/%2e%2e/Package.swift", "/%2E%2E%2FPackage.swift", "/..%2fPackage.swift",
                         "/a/../../etc/passwd", "/%252e%252e/x", "/.%2e/x", "/..\\x"] {
                let response = try await client.execute(uri: path, method: .get)
                try expectError(response, .badRequest, "invalid_path")
                #expect(!String(decoding: response.bytes, as: UTF8.self).contains("secret"))
            }
            for path in ["/leak.txt", "/outdir/secret.txt", "/.hidden", "//etc/passwd"] {
                let response = try await client.execute(uri: path, method: .get)
                try expectError(response, .notFound, "not_found")
            }
        }
    }
}
