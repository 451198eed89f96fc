@testable import App
import Foundation
import Hummingbird
import HummingbirdTesting
import TestImages
import Testing

/// `GET /duplicates`: its shape, its groups checked against cosines computed here from /embed
/// vectors, and its errors.
@Suite struct DuplicateRouteTests {
    static func groups(_ response: TestResponse) throws -> [(ids: [Int64], score: Double)] {
        #expect(response.status == .ok, "\(String(decoding: response.bytes, as: UTF8.self))")
        let body = try response.object()
        #expect(Set(body.keys) == ["groups"])
        let list = try #require(body["groups"] as? [[String: Any]])
        return try list.map { group in
            #expect(Set(group.keys) == ["ids", "score"])
            let ids = try #require(group["ids"] as? [NSNumber]).map(\.int64Value)
            return (ids, try #require(group["score"] as? Double))
        }
    }

    @Test func groupsHoldNearIdenticalImagesWithTheirLowestScore() async throws {
        let server = try TestServer()
        try await server.test { client in
            var (ids, base64) = try await client.uploadSmallImages()
            // Three files of the same pixels (different bytes: another text chunk): one group, score 1.
            let copies = [
                PNGBuilder.gray(width: 80, height: 60),
                PNGBuilder.gray(width: 80, height: 60, chunks: [.zTXt("Comment", Array("copy one".utf8))]),
                PNGBuilder.gray(width: 80, height: 60, chunks: [.zTXt("Comment", Array("copy two".utf8))]),
            ]
            var copyIDs: [Int64] = []
            for (i, bytes) in copies.enumerated() {
                copyIDs.append(try await client.uploadID(bytes, name: "copy\(i).png"))
                base64.append(Data(bytes).base64EncodedString())
            }
            ids += copyIDs
            let embedded = try await client.json(.post, "/embed", ["images": base64]).object()
            let vectors = try #require(embedded["image_embeddings"] as? [[Double]])
            let vectorOf = Dictionary(uniqueKeysWithValues: zip(ids, vectors))
            func cosine(_ a: Int64, _ b: Int64) -> Double { zip(vectorOf[a]!, vectorOf[b]!).reduce(0) { $0 + $1.0 * $1.1 } }

            let strict = try Self.groups(try await client.execute(uri: "/duplicates?min_score=0.999", method: .get))
            #expect(strict.contains { $0.ids == copyIDs.sorted() }, "\(strict)")
            for minScore in [0.999, 0.9, 0.5] {
                let groups = try Self.groups(try await client.execute(uri: "/duplicates?min_score=\(minScore)&limit=1000", method: .get))
                var seen = Set<Int64>()
                for group in groups {
                    #expect(group.ids.count >= 2 && group.ids == group.ids.sorted())
                    #expect(seen.isDisjoint(with: group.ids))
                    seen.formUnion(group.ids)
                    // Every pair of a group is that similar; the score is the lowest pair.
                    var lowest = Double.infinity
                    for a in group.ids { for b in group.ids where b > a { lowest = min(lowest, cosine(a, b)) } }
                    #expect(lowest >= minScore - 1e-4, "\(group) at min_score \(minScore)")
                    #expect(abs(group.score - min(lowest, 1)) < 1e-4, "\(group): lowest pair \(lowest)")
                }
                // Surest first.
                #expect(groups.map(\.score) == groups.map(\.score).sorted(by: >))
            }
            // limit keeps the first groups.
            let all = try Self.groups(try await client.execute(uri: "/duplicates?min_score=0.5", method: .get))
            let one = try Self.groups(try await client.execute(uri: "/duplicates?min_score=0.5&limit=1", method: .get))
            #expect(one.map(\.ids) == Array(all.prefix(1).map(\.ids)))
            // Deleting an extra leaves the rest of the group.
            let deleted = try await client.execute(uri: "/images/\(copyIDs[2])", method: .delete)
            #expect(deleted.status == .noContent)
            let after = try Self.groups(try await client.execute(uri: "/duplicates?min_score=0.999", method: .get))
            #expect(after.contains { $0.ids == Array(copyIDs.prefix(2)) }, "\(after)")
        }
    }

    @Test func anEmptyLibraryHasNoGroups() async throws {
        let server = try TestServer()
        try await server.test { client in
            let groups = try Self.groups(try await client.execute(uri: "/duplicates", method: .get))
            #expect(groups.isEmpty)
        }
    }

    @Test func badParametersAreRefused() async throws {
        let server = try TestServer()
        try await server.test { client in
            for query in ["min_score=0.3", "min_score=1.5", "min_score=abc", "min_score=nan", "limit=0", "limit=1001", "limit=x"] {
                try expectError(try await client.execute(uri: "/duplicates?\(query)", method: .get), .badRequest, "invalid_field")
            }
            try expectError(try await client.execute(uri: "/duplicates?minscore=0.9", method: .get), .badRequest, "unknown_field")
        }
        let loading = try TestServer(loaded: false)
        try await loading.test { client in
            try expectError(try await client.execute(uri: "/duplicates", method: .get), .serviceUnavailable, "not_ready")
        }
    }
}
