import App
import Foundation
import Hummingbird
import HummingbirdTesting
import LibraryStore
import Testing

/// `hybrid: true`: the CLIP ranking fused by reciprocal rank with the matches of the query's words
/// in paths and keywords, checked against the fusion computed here from the `/embed` vector.
@Suite("Hybrid search")
struct HybridSearchTests {
    static let paths = ["/lib/beach/sunset.jpg", "/lib/dogs/golden_retriever.jpg", "/lib/misc/IMG_0001.jpg",
                        "/lib/misc/IMG_0002.jpg", "/lib/misc/IMG_0003.jpg", "/lib/misc/IMG_0004.jpg",
                        "/lib/misc/IMG_0005.jpg", "/lib/misc/IMG_0006.jpg"]

    /// The rows, with seeded random vectors (normalized as stored).
    static func seed(_ index: SQLiteLibrary) throws -> [(id: Int64, path: String, vector: [Float])] {
        var state: UInt64 = 5
        func random() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
        return try paths.map { path in
            let stored = try index.indexFiles([FileEntry(
                path: path, sha256: ContentHash.sha256Hex(Array(path.utf8)), mime: "image/jpeg", width: 4, height: 3,
                byteSize: 1, mtime: 0, embedding: (0..<index.vectors.dimension).map { _ in random() }, thumbnailJPEG: [],
                keywords: path.contains("0003") ? ["Kitchen", "breakfast"] : [])])[0].image
            return (stored.id, path, index.vectors.vector(of: stored.id)!)
        }
    }

    private func results(_ response: TestResponse) throws -> [[String: Any]] {
        #expect(response.status == .ok)
        return try response.object()["results"] as? [[String: Any]] ?? []
    }

    private func textVector(_ client: any TestClientProtocol, _ text: String) async throws -> [Float] {
        let body = try await client.json(.post, "/embed", ["texts": [text]]).object()
        return try #require(body["text_embeddings"] as? [[NSNumber]])[0].map(\.floatValue)
    }

    /// One word-matching row: fused = 1/(60 + its CLIP rank) + 1/61; the others 1/(60 + CLIP rank).
    @Test func fusionMatchesReciprocalRanks() async throws {
        let server = try TestServer()
        let rows = try Self.seed(server.index)
        try await server.test { client in
            let text = "golden retriever"
            let query = try await textVector(client, text)
            var scored: [(id: Int64, score: Double)] = []
            for row in rows {
                var score = 0.0
                for (q, v) in zip(query, row.vector) { score += Double(q) * Double(v) }
                scored.append((row.id, score))
            }
            scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
            let clip = scored.map(\.id)
            let dog = rows[1].id
            var fused: [Int64: Double] = [:]
            for (rank, id) in clip.enumerated() { fused[id] = 1 / (60 + Double(rank + 1)) }
            fused[dog]! += 1 / 61
            let clipRank = Dictionary(uniqueKeysWithValues: clip.enumerated().map { ($1, $0) })
            let expected = fused.sorted { a, b in a.value != b.value ? a.value > b.value : clipRank[a.key]! < clipRank[b.key]! }

            let plain = try results(try await client.json(.post, "/search", ["text": text, "k": 8]))
            #expect(plain.compactMap { ($0["id"] as? NSNumber)?.int64Value } == clip)
            #expect(plain.allSatisfy { $0["fused_score"] == nil })

            let hybrid = try results(try await client.json(.post, "/search", ["text": text, "k": 8, "hybrid": true]))
            #expect(hybrid.compactMap { ($0["id"] as? NSNumber)?.int64Value } == expected.map(\.key))
            #expect(hybrid.first.flatMap { ($0["id"] as? NSNumber)?.int64Value } == dog, "a name match ranked second by CLIP or better comes first")
            for result in hybrid {
                let id = try #require((result["id"] as? NSNumber)?.int64Value)
                #expect(abs(try #require(result["fused_score"] as? Double) - fused[id]!) < 1e-9)
            }
            // The same through GET.
            let get = try results(try await client.execute(uri: "/search?q=golden%20retriever&k=8&hybrid=true", method: .get))
            #expect(get.compactMap { ($0["id"] as? NSNumber)?.int64Value } == expected.map(\.key))
        }
    }

    /// Keywords count, a folder filter applies to the word matches too, and FTS5 syntax in the
    /// query is taken as words.
    @Test func keywordsFiltersAndSyntax() async throws {
        let server = try TestServer()
        let rows = try Self.seed(server.index)
        try await server.test { client in
            let kitchen = try results(try await client.json(.post, "/search", ["text": "breakfast", "k": 1, "hybrid": true]))
            let cosineTop = try results(try await client.json(.post, "/search", ["text": "breakfast", "k": 1]))
            let keywordRow = rows[4].id
            // Ranked first by words, it is first unless CLIP alone put another row first and it second.
            let ids = kitchen.compactMap { ($0["id"] as? NSNumber)?.int64Value }
            #expect(ids == [keywordRow] || ids == cosineTop.compactMap { ($0["id"] as? NSNumber)?.int64Value })
            let outside = try results(try await client.json(.post, "/search", ["text": "breakfast", "k": 8, "hybrid": true, "folder": "/lib/beach"]))
            #expect(outside.compactMap { $0["source"] as? String } == ["/lib/beach/sunset.jpg"])
            for hostile in ["\"unbalanced", "NEAR(a b) OR * ^x", "a:b - c AND", "' OR 1=1 --"] {
                let response = try await client.json(.post, "/search", ["text": hostile, "hybrid": true])
                #expect(response.status == .ok, "\(hostile)")
            }
            let bad = try await client.json(.post, "/search", ["text": "x", "hybrid": "yes"])
            #expect(bad.status == .badRequest)
        }
    }

    /// An upload's XMP dc:subject keywords are searchable words.
    @Test func uploadedKeywordsAreFound() async throws {
        let server = try TestServer()
        let tagged = [UInt8](try Data(contentsOf: Fixtures.packageRoot.appendingPathComponent(
            "Tests/CLIPTests/Fixtures/photo-metadata/jpeg-xmp-keywords.jpg")))
        try await server.test { client in
            let id = try await client.uploadID(tagged, name: "upload.jpg")
            for name in Fixtures.smallImages { _ = try await client.uploadID(try Fixtures.image(name), name: name) }
            let hits = try results(try await client.json(.post, "/search", ["text": "tom and jerry", "k": 3, "hybrid": true]))
            let fusedOfTagged = hits.first { ($0["id"] as? NSNumber)?.int64Value == id }?["fused_score"] as? Double
            // In the word list at rank 1: its fused score holds 1/61 on top of its CLIP rank's share.
            #expect((fusedOfTagged ?? 0) > 1 / 61.0)
        }
    }
}
