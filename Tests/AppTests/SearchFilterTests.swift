@testable import App
import Foundation
import Hummingbird
import HummingbirdTesting
import LibraryStore
import Testing

/// `after`, `before`, `folder` and `sort` on POST and GET /search, against the same ranking
/// computed here from the query's `/embed` vector and the stored vectors.
@Suite("Search filters and dates")
struct SearchFilterTests {
    typealias Row = (id: Int64, path: String, taken: Date, vector: [Float])

    /// 12 files in place under /lib/a, /lib/b and /lib/a-old, taken on the 1st to the 12th of
    /// January 2024 at noon UTC (EXIF dates), with seeded random vectors.
    static func seed(_ index: SQLiteLibrary) throws -> [(id: Int64, path: String, taken: Date, vector: [Float])] {
        var state: UInt64 = 11
        func random() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
        let folders = ["/lib/a", "/lib/b", "/lib/a-old"]
        var rows: [(id: Int64, path: String, taken: Date, vector: [Float])] = []
        for i in 0..<12 {
            let path = "\(folders[i % 3])/\(i).jpg"
            let taken = Date(timeIntervalSince1970: 1_704_110_400 + Double(i) * 86_400)   // 2024-01-01T12:00:00Z + i days
            let vector = (0..<index.vectors.dimension).map { _ in random() }
            let stored = try index.indexFiles([FileEntry(
                path: path, sha256: ContentHash.sha256Hex(Array(path.utf8)), mime: "image/jpeg", width: 4, height: 3,
                byteSize: 1, mtime: 0, embedding: vector, thumbnailJPEG: [], takenAt: taken)])[0].image
            rows.append((stored.id, path, taken, index.vectors.vector(of: stored.id)!))
        }
        return rows
    }

    private static func results(_ body: [String: Any]) -> [[String: Any]] { body["results"] as? [[String: Any]] ?? [] }
    private static func ids(_ body: [String: Any]) -> [Int64] { results(body).compactMap { ($0["id"] as? NSNumber)?.int64Value } }

    private func textVector(_ client: any TestClientProtocol, _ text: String) async throws -> [Float] {
        let body = try await client.json(.post, "/embed", ["texts": [text]]).object()
        let rows = try #require(body["text_embeddings"] as? [[NSNumber]])
        return rows[0].map(\.floatValue)
    }

    /// The expected ids: allowed rows ranked by cosine (Double), ties by id.
    private func expected(_ rows: [Row], query: [Float], k: Int, allow: (Row) -> Bool) -> [Int64] {
        var scored: [(id: Int64, score: Double)] = []
        for row in rows where allow(row) {
            var score = 0.0
            for (q, v) in zip(query, row.vector) { score += Double(q) * Double(v) }
            scored.append((row.id, score))
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        return scored.prefix(k).map(\.id)
    }

    @Test func folderAndDatesFilterInsideTheRanking() async throws {
        let server = try TestServer()
        let rows = try Self.seed(server.index)
        try await server.test { client in
            let query = try await textVector(client, "a photo")
            // Only /lib/a (not /lib/a-old): k=3 of its 4 rows, whatever the other folders score.
            let inA = try await client.json(.post, "/search", ["text": "a photo", "folder": "/lib/a", "k": 3]).object()
            #expect(Self.ids(inA) == expected(rows, query: query, k: 3) { $0.path.hasPrefix("/lib/a/") })
            #expect((inA["total"] as? Int) == 4)
            // [Jan 3 00:00, Jan 7 12:00): the photos of Jan 3, 4, 5 and 6 (Jan 7's, at noon, is not before).
            let range = try await client.json(.post, "/search", ["text": "a photo", "after": "2024-01-03", "before": "2024-01-07T12:00:00Z", "k": 10]).object()
            let start = Date(timeIntervalSince1970: 1_704_240_000), end = Date(timeIntervalSince1970: 1_704_628_800)
            #expect(Self.ids(range) == expected(rows, query: query, k: 10) { $0.taken >= start && $0.taken < end })
            #expect(Self.ids(range).count == 4)
            // The same through GET, with an offset zone (+01:00 = 11:00Z).
            let get = try await client.execute(uri: "/search?q=a%20photo&after=2024-01-03T01:00:00%2B01:00&before=2024-01-07T12:00:00Z&k=10", method: .get)
            #expect(Self.ids(try get.object()) == Self.ids(range))
            // taken_at comes back as ISO 8601 UTC.
            let first = try #require(Self.results(range).first)
            let row = try #require(rows.first { $0.id == (first["id"] as? NSNumber)?.int64Value })
            #expect(first["taken_at"] as? String == row.taken.ISO8601Format())
        }
    }

    @Test func sortByDateOrdersWhatSurvives() async throws {
        let server = try TestServer()
        let rows = try Self.seed(server.index)
        try await server.test { client in
            let relevance = Self.ids(try await client.json(.post, "/search", ["text": "x", "k": 5]).object())
            let newest = Self.ids(try await client.json(.post, "/search", ["text": "x", "k": 5, "sort": "date_desc"]).object())
            let oldest = Self.ids(try await client.json(.post, "/search", ["text": "x", "k": 5, "sort": "date_asc"]).object())
            let taken = Dictionary(uniqueKeysWithValues: rows.map { ($0.id, $0.taken) })
            #expect(Set(newest) == Set(relevance) && Set(oldest) == Set(relevance))
            #expect(newest == relevance.sorted { taken[$0]! > taken[$1]! })
            #expect(oldest == newest.reversed())
        }
    }

    @Test func badFiltersAreRefused() async throws {
        let server = try TestServer()
        try await server.test { client in
            for body: [String: Any] in [
                ["text": "x", "after": "yesterday"], ["text": "x", "before": "2024-02-30"],
                ["text": "x", "folder": "relative/path"],
                ["text": "x", "sort": "random"], ["text": "x", "after": 20240501],
            ] {
                let response = try await client.json(.post, "/search", body)
                #expect(response.status == .badRequest, "\(body)")
                #expect((try response.object()["error"] as? [String: Any])?["code"] as? String == "invalid_field", "\(body)")
            }
            #expect(try await client.execute(uri: "/search?q=x&sort=newest", method: .get).status == .badRequest)
            // An empty range is no error: nothing matches it.
            let empty = try await client.json(.post, "/search", ["text": "x", "after": "2024-05-01", "before": "2024-05-01"])
            let emptyResults = try empty.object()["results"] as? [Any]
            #expect(empty.status == .ok && emptyResults?.isEmpty == true)
        }
    }

    /// An upload's EXIF DateTimeOriginal is its taken_at (here with OffsetTimeOriginal +02:00).
    @Test func uploadsKeepTheirExifDate() async throws {
        let server = try TestServer()
        let bytes = [UInt8](try Data(contentsOf: Fixtures.packageRoot.appendingPathComponent(
            "Tests/CLIPTests/Fixtures/photo-metadata/jpeg-original-offset.jpg")))
        try await server.test { client in
            _ = try await client.uploadID(bytes, name: "dated.jpg")
            let list = try await client.execute(uri: "/images", method: .get).object()
            let image = try #require((list["images"] as? [[String: Any]])?.first)
            #expect(image["taken_at"] as? String == "2023-07-14T16:05:09Z")
            // Orientation 6: the upright size is reported.
            #expect(image["width"] as? Int == 16 && image["height"] as? Int == 24)
        }
    }

    @Test func libraryIsEmptyWithoutFolders() async throws {
        let server = try TestServer()
        try await server.test { client in
            let body = try await client.execute(uri: "/library", method: .get).object()
            #expect((body["folders"] as? [Any])?.isEmpty == true)
        }
    }
}

@Suite("GET /library")
struct LibraryRouteTests {
    /// Before the first scan, a folder is listed with `last_scan` null (present, as the spec requires).
    @Test func folderBeforeItsFirstScan() async throws {
        let backend = Backend(libraryFolders: ["/photos"])
        let router = ClipApplication.router(backend: backend, settings: ServerSettings(publicDirectory: Fixtures.publicFolder))
        try await Application(router: router).test(.router) { client in
            let response = try await client.execute(uri: "/library", method: .get)
            let text = String(buffer: response.body)
            #expect(text.contains("\"last_scan\":null"), "\(text)")
            let folder = try #require((try response.object()["folders"] as? [[String: Any]])?.first)
            #expect(folder["path"] as? String == "/photos" && folder["files"] as? Int == 0 && folder["watching"] as? Bool == false)
        }
    }
}

@Suite("API dates")
struct APIDateTests {
    /// Against the instants Foundation's own ISO 8601 parser gives for the same strings.
    @Test(arguments: ["2024-05-01T12:30:00Z", "2597-02-11T05:39:16-12:32", "1999-12-31T23:59:59+14:00",
                      "2024-02-29T00:00:00-00:30", "0056-10-07T00:00:00Z"])
    func dateTimesMatchFoundation(_ text: String) throws {
        let reference = try #require(try? Date(text, strategy: .iso8601))
        #expect(APIDate.parse(text) == reference)
    }

    @Test func datesAndFractions() {
        #expect(APIDate.parse("2024-05-01")?.timeIntervalSince1970 == 1_714_521_600)
        #expect(APIDate.parse("2024-05-01T00:00:00.25Z")?.timeIntervalSince1970 == 1_714_521_600.25)
        #expect(APIDate.parse("2024-05-01T02:00:00") == APIDate.parse("2024-05-01T02:00:00Z"))
        // RFC 3339 offsets go to ±23:59 (Foundation's parser stops earlier): 05:39:16 + 22:32 = the next day's 04:11:16 UTC.
        #expect(APIDate.parse("2597-02-11T05:39:16-22:32") == APIDate.parse("2597-02-12T04:11:16Z"))
        for bad in ["2024-5-01", "2024-02-30", "2024-05-01T24:00:00Z", "2024-05-01T12:00:00+24:00", "2024-05-01T12:00Zjunk", ""] {
            #expect(APIDate.parse(bad) == nil, "\(bad)")
        }
    }
}
