import Foundation
import PostgresTestSupport
import Synchronization
import Testing

/// The built `clip-server serve`, twice, on one PostgreSQL library: what one acknowledges the other
/// serves and finds within seconds, a delete on either is gone from both, the same bytes sent to both
/// at once make one row, and acknowledged uploads survive SIGKILL.
@Suite("PostgreSQL: clip-server processes on one library", .serialized,
       .enabled(if: PostgresTestDatabase.isAvailable, "CLIP_TEST_POSTGRES_URL is not set (eval \"$(tools/pg-test-server.sh start)\")"))
struct PostgresServerTests {
    private func upload(_ server: ServerProcess, _ name: String) async throws -> (id: Int64, duplicate: Bool)? {
        let (status, body) = try await server.post("/index?name=\(name)", body: try Fixtures.image(name),
                                                   contentType: name.hasSuffix(".png") ? "image/png" : "image/jpeg")
        guard status == 200, let entry = (body["indexed"] as? [[String: Any]])?.first,
              let id = (entry["id"] as? NSNumber)?.int64Value else { return nil }
        return (id, entry["duplicate"] as? Bool ?? false)
    }

    private func found(_ server: ServerProcess, _ id: Int64) async throws -> Bool {
        try await ids(server.postJSON("/search", ["image_id": id, "k": 1]).body) == [id]
    }

    @Test func twoServersShareUploadsDeletesAndDuplicates() async throws {
        let db = try await PostgresTestDatabase.create()
        let a = try await ServerProcess.start(db: db)
        defer { a.kill(SIGKILL) }
        let b = try await ServerProcess.start(db: db)
        defer { b.kill(SIGKILL) }
        let name = Fixtures.smallImages[0]
        let first = try #require(try await upload(a, name))
        #expect(try await eventually(10) { try await found(b, first.id) })
        #expect(try await b.get("/images/\(first.id)").body == (try Fixtures.image(name)))
        #expect(try await b.get("/images/\(first.id)/thumbnail").status == 200)

        #expect(try await b.request("DELETE", "/images/\(first.id)").status == 204)
        #expect(try await a.get("/images/\(first.id)").status == 404)
        #expect(try await eventually(10) { try await a.postJSON("/search", ["text": "x", "k": 10]).body["total"] as? Int == 0 })

        // The same bytes to both servers at once: one row, one of them told it is a duplicate.
        let other = Fixtures.smallImages[1]
        async let viaA = upload(a, other)
        async let viaB = upload(b, other)
        let (ra, rb) = (try #require(try await viaA), try #require(try await viaB))
        #expect(ra.id == rb.id)
        #expect([ra.duplicate, rb.duplicate].filter { !$0 }.count == 1)
        #expect(try await b.getJSON("/images").body["total"] as? Int == 1)
        #expect(try await eventually(10) { try await found(a, ra.id) })
        #expect(try await eventually(10) { try await found(b, ra.id) })
    }

    @Test func acknowledgedUploadsSurviveSIGKILL() async throws {
        let db = try await PostgresTestDatabase.create()
        let names = Fixtures.smallImages + ["jpeg-exif6-400x300.jpg", "png-rgba-300x200.png", "jpeg-exif8-260x390.jpg"]
        var acknowledged: [(name: String, id: Int64)] = []
        do {
            let server = try await ServerProcess.start(db: db)
            defer { server.kill(SIGKILL) }
            // Uploads from several clients; SIGKILL once half are acknowledged, the rest anywhere in encode/store.
            let done = AcknowledgedCount()
            try await withThrowingTaskGroup(of: (String, Int64)?.self) { group in
                for name in names {
                    group.addTask {
                        guard let stored = try? await upload(server, name) else { return nil }
                        done.count.withLock { $0 += 1 }
                        return (name, stored.id)
                    }
                }
                let deadline = Date().addingTimeInterval(20)
                while done.count.withLock({ $0 }) < names.count / 2 && Date() < deadline {
                    try await Task.sleep(for: .milliseconds(5))
                }
                server.kill(SIGKILL)
                for try await result in group { if let result { acknowledged.append(result) } }
            }
        }
        // Some acknowledged, some not: otherwise the kill came too early or too late to test anything.
        #expect(!acknowledged.isEmpty, "no upload was acknowledged before the kill")
        print("PostgresServerTests: \(acknowledged.count) of \(names.count) uploads acknowledged before SIGKILL")
        let server = try await ServerProcess.start(db: db)
        defer { server.kill(SIGTERM) }
        for (name, id) in acknowledged {
            #expect(try await server.get("/images/\(id)").body == (try Fixtures.image(name)), "image \(id) (\(name)) lost")
            #expect(try await found(server, id))
        }
        // Nothing half-written: every row has its original, thumbnail and vector.
        let rows = (try await server.getJSON("/images?limit=1000").body["images"] as? [[String: Any]]) ?? []
        #expect(rows.count >= acknowledged.count && rows.count <= names.count)
        for row in rows {
            let id = try #require((row["id"] as? NSNumber)?.int64Value)
            #expect(try await server.get("/images/\(id)").status == 200)
            #expect(try await server.get("/images/\(id)/thumbnail").status == 200)
            #expect(try await found(server, id), "row \(id) has no vector")
        }
    }
}

private final class AcknowledgedCount: Sendable {
    let count = Mutex(0)
}
