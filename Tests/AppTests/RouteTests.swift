import App
import CLIP
import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Testing

/// Every route and field of DESIGN.md 3 against the tiny fixture model.
@Suite struct RouteTests {
    // MARK: - Ops

    @Test func healthReadyMetrics() async throws {
        let server = try TestServer()
        try await server.test { client in
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
            #expect(try health.object()["status"] as? String == "ok")
            #expect(health.headers[HTTPField.Name("X-Request-Id")!]?.isEmpty == false)

            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok)

            _ = try await client.uploadID(try Fixtures.image("jpeg-exact-224x224.jpg"), name: "a.jpg")
            _ = try await client.execute(uri: "/search?q=cat", method: .get)
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.status == .ok)
            let text = String(decoding: metrics.bytes, as: UTF8.self)
            #expect(text.contains("http_requests_total{"))
            #expect(text.contains("route=\"/search\""))
            #expect(text.contains("http_request_duration_seconds_bucket"))
            #expect(text.contains("clip_images_indexed_total 1"))
            #expect(text.contains("clip_index_size 1"))
            #expect(text.contains("clip_encode_duration_seconds_count{kind=\"image\"}"))
        }
    }

    @Test func readyzIsUnavailableUntilLoaded() async throws {
        let server = try TestServer(loaded: false)
        try await server.test { client in
            try expectError(try await client.execute(uri: "/readyz", method: .get), .serviceUnavailable, "not_ready")
            try expectError(try await client.execute(uri: "/search?q=x", method: .get), .serviceUnavailable, "not_ready")
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
    }

    @Test func requestIDFromClientIsEchoed() async throws {
        let server = try TestServer()
        try await server.test { client in
            let response = try await client.execute(uri: "/healthz", method: .get, headers: [HTTPField.Name("X-Request-Id")!: "abc-123"])
            #expect(response.headers[HTTPField.Name("X-Request-Id")!] == "abc-123")
        }
    }

    // MARK: - Index

    @Test func duplicateUploadReturnsSameID() async throws {
        let server = try TestServer()
        try await server.test { client in
            let bytes = try Fixtures.image("jpeg-exif3-360x270.jpg")
            let first = try await client.upload(bytes, name: "first.jpg")
            #expect(first.status == .ok)
            let firstIndexed = try #require(try first.object()["indexed"] as? [[String: Any]])
            #expect(firstIndexed.count == 1)
            #expect(firstIndexed[0]["duplicate"] as? Bool == false)
            let sha = try #require(firstIndexed[0]["sha256"] as? String)
            #expect(sha.count == 64)

            let second = try await client.upload(bytes, name: "second.jpg")
            #expect(second.status == .ok)
            let secondIndexed = try #require(try second.object()["indexed"] as? [[String: Any]])
            #expect(secondIndexed[0]["duplicate"] as? Bool == true)
            #expect((secondIndexed[0]["id"] as? NSNumber)?.int64Value == (firstIndexed[0]["id"] as? NSNumber)?.int64Value)
            #expect(secondIndexed[0]["sha256"] as? String == sha)

            let list = try await client.execute(uri: "/images", method: .get)
            #expect(try list.object()["total"] as? Int == 1)
        }
    }

    @Test func multipartIndexesGoodPartsAndReportsBadOnes() async throws {
        let server = try TestServer()
        try await server.test { client in
            let body = multipartBody(boundary: "XyZ-boundary", parts: [
                ("image", "a.jpg", try Fixtures.image("jpeg-exact-224x224.jpg")),
                ("image", "junk.jpg", Array("definitely not an image".utf8)),
                ("image", "b.png", try Fixtures.image("png-rgb-tiny-50x37.png")),
            ])
            let response = try await client.raw(.post, "/index", body, contentType: "multipart/form-data; boundary=XyZ-boundary")
            #expect(response.status == .ok)
            let object = try response.object()
            let indexed = try #require(object["indexed"] as? [[String: Any]])
            let errors = try #require(object["errors"] as? [[String: Any]])
            #expect(indexed.count == 2)
            #expect(errors.count == 1)
            #expect(errors.first?["name"] as? String == "junk.jpg")
            #expect(errors.first?["code"] as? String == "bad_image")
            #expect((errors.first?["error"] as? String)?.contains("junk.jpg") == true)

            // Part file names become `source`; sizes and mime come from the bytes.
            let list = try await client.execute(uri: "/images?limit=10", method: .get).object()
            let images = try #require(list["images"] as? [[String: Any]])
            #expect(Set(images.compactMap { $0["source"] as? String }) == ["a.jpg", "b.png"])
            let png = try #require(images.first { $0["source"] as? String == "b.png" })
            #expect(png["mime"] as? String == "image/png")
            #expect(png["width"] as? Int == 50)
            #expect(png["height"] as? Int == 37)
        }
    }

    @Test func rawUploadWithoutNameIsCalledUpload() async throws {
        let server = try TestServer()
        try await server.test { client in
            let response = try await client.raw(.post, "/index", try Fixtures.image("png-rgb-tiny-50x37.png"), contentType: "image/png")
            #expect(response.status == .ok)
            let list = try await client.execute(uri: "/images", method: .get).object()
            let images = try #require(list["images"] as? [[String: Any]])
            #expect(images.first?["source"] as? String == "upload")
        }
    }

    // MARK: - Images

    @Test func originalThumbnailListAndDelete() async throws {
        let server = try TestServer()
        try await server.test { client in
            let bytes = try Fixtures.image("jpeg-exif3-360x270.jpg")
            let id = try await client.uploadID(bytes, name: "rotated.jpg")
            let other = try await client.uploadID(try Fixtures.image("png-gray-250x250.png"), name: "gray.png")

            let original = try await client.execute(uri: "/images/\(id)", method: .get)
            #expect(original.status == .ok)
            #expect(original.bytes == bytes)
            #expect(original.headers[.contentType] == "image/jpeg")

            let thumbnail = try await client.execute(uri: "/images/\(id)/thumbnail", method: .get)
            #expect(thumbnail.status == .ok)
            #expect(thumbnail.headers[.contentType] == "image/jpeg")
            let thumb = try ImageDecoder.decode(thumbnail.bytes)
            // EXIF orientation 3 keeps 360x270; long side 256.
            #expect(max(thumb.width, thumb.height) == 256)

            let page = try await client.execute(uri: "/images?offset=1&limit=1", method: .get).object()
            #expect(page["total"] as? Int == 2)
            #expect((page["images"] as? [[String: Any]])?.count == 1)

            let search = try await client.execute(uri: "/search?image_id=\(id)&k=10", method: .get).object()
            #expect(ids(search).contains(id))

            let deleted = try await client.execute(uri: "/images/\(id)", method: .delete)
            #expect(deleted.status == .noContent)
            try expectError(try await client.execute(uri: "/images/\(id)", method: .get), .notFound, "not_found")
            try expectError(try await client.execute(uri: "/images/\(id)/thumbnail", method: .get), .notFound, "not_found")
            try expectError(try await client.execute(uri: "/images/\(id)", method: .delete), .notFound, "not_found")
            try expectError(try await client.execute(uri: "/search?image_id=\(id)", method: .get), .notFound, "not_found")

            let after = try await client.json(.post, "/search", ["text": "a photo", "k": 10]).object()
            #expect(ids(after) == [other])
            let list = try await client.execute(uri: "/images", method: .get).object()
            #expect(list["total"] as? Int == 1)
            #expect((list["images"] as? [[String: Any]])?.compactMap { ($0["id"] as? NSNumber)?.int64Value } == [other])
        }
    }

    // MARK: - Search

    @Test func imageIDQueryFindsItselfFirst() async throws {
        let server = try TestServer()
        try await server.test { client in
            var stored: [Int64] = []
            for name in Fixtures.smallImages { stored.append(try await client.uploadID(try Fixtures.image(name), name: name)) }
            for id in stored {
                let body = try await client.json(.post, "/search", ["image_id": id, "k": 3]).object()
                #expect(ids(body).first == id)
                #expect(abs((scores(body).first ?? 0) - 1) < 1e-4)
                #expect(body["total"] as? Int == stored.count)
                let result = try #require((body["results"] as? [[String: Any]])?.first)
                #expect(result["url"] as? String == "/images/\(id)")
                #expect(result["thumbnail_url"] as? String == "/images/\(id)/thumbnail")
                #expect(result["source"] is String)
                #expect(result["width"] is Int && result["height"] is Int)
                #expect(body["took_ms"] is Double || body["took_ms"] is Int)
            }
        }
    }

    @Test func textSearchMatchesArithmeticAndGetEqualsPost() async throws {
        let server = try TestServer()
        try await server.test { client in
            let (stored, base64) = try await client.uploadSmallImages()
            let embed = try await client.json(.post, "/embed", ["texts": ["a red car"], "images": base64]).object()
            let text = try #require((embed["text_embeddings"] as? [[NSNumber]])?.first?.map(\.floatValue))
            let images = try #require((embed["image_embeddings"] as? [[NSNumber]])?.map { $0.map(\.floatValue) })
            let expected = zip(stored, images.map { dot(text, $0) }).sorted { $0.1 > $1.1 }

            let post = try await client.json(.post, "/search", ["text": "a red car", "k": 10]).object()
            #expect(ids(post) == expected.map(\.0))
            for (score, want) in zip(scores(post), expected.map(\.1)) { #expect(abs(score - want) < 1e-4) }
            let get = try await client.execute(uri: "/search?q=a+red%20car&k=10", method: .get).object()
            #expect(ids(get) == ids(post))

            // k, offset and min_score page and cut the same ranking.
            let page = try await client.json(.post, "/search", ["text": "a red car", "k": 2, "offset": 1]).object()
            #expect(ids(page) == Array(expected.map(\.0)[1..<3]))
            #expect(page["total"] as? Int == stored.count)
            // Halfway between the 3rd and 4th scores: a cut exactly at a score would depend on the last
            // bit of two different summation orders (sgemv on the server, a loop here).
            let threshold = (expected[2].1 + expected[3].1) / 2
            let cut = try await client.execute(uri: "/search?q=a%20red%20car&min_score=\(threshold)", method: .get).object()
            #expect(Set(ids(cut)) == Set(expected.filter { $0.1 >= threshold }.map(\.0)))

            // An image query (base64) ranks like its own stored copy.
            let byImage = try await client.json(.post, "/search", ["image": base64[0], "k": 10]).object()
            let byID = try await client.json(.post, "/search", ["image_id": stored[0], "k": 10]).object()
            #expect(ids(byImage) == ids(byID))
        }
    }

    @Test func negativeTextsAreSubtractedBeforeNormalizing() async throws {
        let server = try TestServer()
        try await server.test { client in
            let (stored, base64) = try await client.uploadSmallImages()
            let query = "a photo of a dog"
            let negatives = ["grass", "a black and white picture"]
            let embed = try await client.json(.post, "/embed", ["texts": [query] + negatives, "images": base64]).object()
            let texts = try #require((embed["text_embeddings"] as? [[NSNumber]])?.map { $0.map(\.floatValue) })
            let images = try #require((embed["image_embeddings"] as? [[NSNumber]])?.map { $0.map(\.floatValue) })
            var vector = texts[0]
            for negative in texts[1...] { for i in vector.indices { vector[i] -= negative[i] } }
            let q = normalized(vector)
            let expected = zip(stored, images.map { dot(q, normalized($0)) }).sorted { $0.1 > $1.1 }
            let plain = zip(stored, images.map { dot(texts[0], $0) }).sorted { $0.1 > $1.1 }.map(\.0)

            let body = try await client.json(.post, "/search", ["text": query, "negative": negatives, "k": 10]).object()
            #expect(ids(body) == expected.map(\.0))
            for (score, want) in zip(scores(body), expected.map(\.1)) { #expect(abs(score - want) < 1e-4) }
            // The fixture data is such that the negatives reorder the results.
            #expect(expected.map(\.0) != plain)
            let get = try await client.execute(
                uri: "/search?q=a%20photo%20of%20a%20dog&negative=grass&negative=a+black+and+white+picture&k=10", method: .get).object()
            #expect(ids(get) == ids(body))
        }
    }

    // MARK: - Embed and classify

    @Test func embedReturnsUnitVectorsInOrder() async throws {
        let server = try TestServer()
        try await server.test { client in
            let bytes = try Fixtures.image("png-rgb-tiny-50x37.png")
            let body = try await client.json(.post, "/embed", ["texts": ["a cat", "a dog"], "images": [Data(bytes).base64EncodedString()]]).object()
            let texts = try #require((body["text_embeddings"] as? [[NSNumber]])?.map { $0.map(\.floatValue) })
            let images = try #require((body["image_embeddings"] as? [[NSNumber]])?.map { $0.map(\.floatValue) })
            #expect(texts.count == 2)
            #expect(images.count == 1)
            let encoder = Fixtures.encoder
            for vector in texts + images {
                #expect(vector.count == encoder.dimension)
                #expect(abs(dot(vector, vector) - 1) < 1e-4)
            }
            #expect(texts[0] == encoder.encode(texts: ["a cat"])[0])
            #expect(images[0] == encoder.encode(images: [try ImageDecoder.decode(bytes)])[0])
            let textsOnly = try await client.json(.post, "/embed", ["texts": ["x"]]).object()
            #expect((textsOnly["image_embeddings"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func classifyIsSoftmaxOfScaledCosines() async throws {
        let server = try TestServer()
        try await server.test { client in
            let bytes = try Fixtures.image("jpeg-exact-224x224.jpg")
            let labels = ["a dog", "a cat", "a car", "a tree"]
            let body = try await client.json(.post, "/classify", ["image": Data(bytes).base64EncodedString(), "labels": labels]).object()
            let ranked = try #require(body["labels"] as? [[String: Any]])
            let got = ranked.compactMap { item -> (String, Float)? in
                guard let label = item["label"] as? String, let p = (item["probability"] as? NSNumber)?.floatValue else { return nil }
                return (label, p)
            }
            #expect(got.count == labels.count)
            #expect(abs(got.map(\.1).reduce(0, +) - 1) < 1e-4)
            #expect(got.map(\.1) == got.map(\.1).sorted(by: >))

            let embed = try await client.json(.post, "/embed", ["texts": labels, "images": [Data(bytes).base64EncodedString()]]).object()
            let texts = try #require((embed["text_embeddings"] as? [[NSNumber]])?.map { $0.map(\.floatValue) })
            let image = try #require((embed["image_embeddings"] as? [[NSNumber]])?.first?.map(\.floatValue))
            let logits = texts.map { Double(Fixtures.encoder.logitScale * dot(image, $0)) }
            let exps = logits.map { exp($0 - logits.max()!) }
            let expected = Dictionary(uniqueKeysWithValues: zip(labels, exps.map { Float($0 / exps.reduce(0, +)) }))
            for (label, p) in got { #expect(abs(p - expected[label]!) < 1e-4) }

            // image_id classifies the stored vector the same way.
            let id = try await client.uploadID(bytes, name: "x.jpg")
            let byID = try await client.json(.post, "/classify", ["image_id": id, "labels": labels]).object()
            let byIDLabels = (byID["labels"] as? [[String: Any]])?.compactMap { $0["label"] as? String }
            #expect(byIDLabels == got.map(\.0))
        }
    }

    // MARK: - Static files

    @Test func staticFilesAndOpenAPI() async throws {
        let server = try TestServer()
        try await server.test { client in
            let index = try await client.execute(uri: "/", method: .get)
            #expect(index.status == .ok)
            #expect(index.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(String(decoding: index.bytes, as: UTF8.self).contains("/search?"))
            let spec = try await client.execute(uri: "/openapi.yaml", method: .get)
            #expect(spec.status == .ok)
            #expect(String(decoding: spec.bytes, as: UTF8.self).hasPrefix("openapi: 3"))
            try expectError(try await client.execute(uri: "/nope.html", method: .get), .notFound, "not_found")
            try expectError(try await client.execute(uri: "/no/such/route", method: .post), .notFound, "not_found")
        }
    }

    // MARK: - Concurrency

    @Test func simultaneousDuplicateUploadsMakeOneRow() async throws {
        let server = try TestServer()
        let index = server.index
        try await server.test { client in
            let bytes = try Fixtures.image("jpeg-gray-300x400.jpg")
            async let a = client.upload(bytes, name: "a.jpg")
            async let b = client.upload(bytes, name: "b.jpg")
            let (first, second) = try await (a, b)
            #expect(first.status == .ok && second.status == .ok)
            let entries = [try first.object(), try second.object()].compactMap { ($0["indexed"] as? [[String: Any]])?.first }
            #expect(Set(entries.compactMap { ($0["id"] as? NSNumber)?.int64Value }).count == 1)
            #expect(entries.filter { $0["duplicate"] as? Bool == false }.count == 1)
            #expect(try await client.execute(uri: "/images", method: .get).object()["total"] as? Int == 1)
            #expect(index.vectors.count == 1)
        }
    }

    @Test func searchesRunWhileAnImageIsIndexed() async throws {
        let server = try TestServer()
        try await server.test { client in
            _ = try await client.uploadID(try Fixtures.image("png-rgb-tiny-50x37.png"), name: "tiny.png")
            let large = try Fixtures.image("jpeg-large-2400x1800.jpg")
            try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask { Int(try await client.upload(large, name: "large.jpg").status.code) }
                for i in 0..<12 {
                    group.addTask { Int(try await client.execute(uri: "/search?q=query%20\(i)&k=5", method: .get).status.code) }
                }
                for try await status in group { #expect(status == 200) }
            }
            #expect(try await client.execute(uri: "/images", method: .get).object()["total"] as? Int == 2)
        }
    }
}
