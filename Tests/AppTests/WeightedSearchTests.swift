@testable import App
import Foundation
import Hummingbird
import HummingbirdTesting
import SearchIndex
import Testing

/// `queries` (weighted parts) and `autocut` on /search, checked against the same arithmetic done
/// here on vectors from /embed.
@Suite struct WeightedSearchTests {
    static func vectors(_ object: [String: Any], _ key: String) throws -> [[Double]] {
        try #require(object[key] as? [[Double]])
    }

    static func unit(_ v: [Double]) -> [Double] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / norm }
    }

    static func results(_ response: TestResponse) throws -> [(id: Int64, score: Double)] {
        let list = try #require(try response.object()["results"] as? [[String: Any]], "\(String(decoding: response.bytes, as: UTF8.self))")
        return list.map { (($0["id"] as? NSNumber)?.int64Value ?? 0, ($0["score"] as? Double) ?? .nan) }
    }

    @Test func weightedPartsEqualTheirArithmetic() async throws {
        let server = try TestServer()
        try await server.test { client in
            let (ids, base64) = try await client.uploadSmallImages()
            let embedded = try await client.json(.post, "/embed", ["texts": ["a red circle", "a blue square"], "images": base64]).object()
            let texts = try Self.vectors(embedded, "text_embeddings")
            let images = try Self.vectors(embedded, "image_embeddings")
            // 2 × "a red circle" + 1 × stored image 2 − 0.5 × image 4 (as bytes) − "a blue square" (negative).
            var weighted = [Double](repeating: 0, count: texts[0].count)
            for i in weighted.indices {
                let positive: Double = 2 * texts[0][i] + images[2][i]
                let negative: Double = 0.5 * images[4][i] + texts[1][i]
                weighted[i] = positive - negative
            }
            let query = Self.unit(weighted)
            let expected = zip(ids, images).map { id, v in (id: id, score: zip(query, Self.unit(v)).reduce(0) { $0 + $1.0 * $1.1 }) }
                .sorted { $0.score > $1.score }
            let response = try await client.json(.post, "/search", [
                "queries": [["text": "a red circle", "weight": 2], ["image_id": ids[2]], ["image": base64[4], "weight": -0.5]],
                "negative": ["a blue square"], "k": ids.count,
            ])
            let got = try Self.results(response)
            #expect(got.count == ids.count)
            for (result, reference) in zip(got, expected) {
                #expect(abs(result.score - reference.score) < 1e-4, "\(got) vs \(expected)")
            }
            #expect(Set(got.prefix(2).map(\.id)) == Set(expected.prefix(2).map(\.id)))
        }
    }

    @Test func negativeIsAPartOfWeightMinusOne() async throws {
        let server = try TestServer()
        try await server.test { client in
            _ = try await client.uploadSmallImages()
            let old = try Self.results(try await client.json(.post, "/search", ["text": "a cat", "negative": ["a dog"], "k": 6]))
            let new = try Self.results(try await client.json(.post, "/search", [
                "queries": [["text": "a cat"], ["text": "a dog", "weight": -1]], "k": 6,
            ]))
            #expect(old.map(\.id) == new.map(\.id))
            for (a, b) in zip(old, new) { #expect(abs(a.score - b.score) < 1e-6) }
        }
    }

    @Test func badQueriesAreRefused() async throws {
        let server = try TestServer()
        try await server.test { client in
            try expectError(try await client.json(.post, "/search", ["text": "x", "queries": [["text": "y"]]]), .badRequest, "invalid_query")
            try expectError(try await client.json(.post, "/search", ["queries": [["text": "y", "image_id": 1]]]), .badRequest, "invalid_query")
            try expectError(try await client.json(.post, "/search", ["queries": [["weight": 2]]]), .badRequest, "invalid_query")
            try expectError(try await client.json(.post, "/search", ["queries": [] as [Any]]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/search", ["queries": ["text"]]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/search", ["queries": [["text": "y", "weight": 1000]]]), .badRequest, "invalid_field")
            try expectError(try await client.json(.post, "/search", ["queries": [["text": "y", "wieght": 2]]]), .badRequest, "unknown_field")
            try expectError(try await client.json(.post, "/search", ["queries": [["image_id": 999]]]), .notFound, "not_found")
            try expectError(try await client.json(.post, "/search", ["queries": [["text": "y"], ["text": "y", "weight": -1]]]),
                            .badRequest, "invalid_query")
            try expectError(try await client.json(.post, "/search", ["text": "x", "autocut": 0]), .badRequest, "invalid_field")
            try expectError(try await client.execute(uri: "/search?q=x&autocut=many", method: .get), .badRequest, "invalid_field")
        }
    }

    @Test func autocutKeepsTheResultsBeforeTheJump() async throws {
        let server = try TestServer()
        try await server.test { client in
            _ = try await client.uploadSmallImages()
            for query in ["a cat", "a red circle", "two blue stars"] {
                let all = try Self.results(try await client.json(.post, "/search", ["text": query, "k": 6]))
                let expected = Autocut.keptCount(scores: all.map { Float($0.score) }, jumps: 1)
                let cut = try Self.results(try await client.json(.post, "/search", ["text": query, "k": 6, "autocut": 1]))
                #expect(cut.map(\.id) == Array(all.prefix(expected).map(\.id)))
                let viaURL = try Self.results(try await client.execute(uri: "/search?q=\(query.replacingOccurrences(of: " ", with: "+"))&k=6&autocut=1", method: .get))
                #expect(viaURL.map(\.id) == cut.map(\.id))
            }
        }
    }
}
