import Foundation
import Testing
@testable import LibraryStore
import PostgresTestSupport
import SearchIndex
import Synchronization

/// Several servers on one PostgreSQL library: each `PostgresLibrary` here stands for one server
/// (its own pool and in-memory vectors), following the others with `refresh()` as `serve` does
/// every second.
@Suite("PostgreSQL: several servers, one library",
       .enabled(if: PostgresTestDatabase.isAvailable, "CLIP_TEST_POSTGRES_URL is not set (eval \"$(tools/pg-test-server.sh start)\")"))
struct PostgresSharedLibraryTests {
    private func servers(_ count: Int) async throws -> (url: String, stores: [PostgresLibrary]) {
        let url = try await PostgresTestDatabase.create()
        return (url, try (0..<count).map { _ in try PostgresLibrary(url: url, modelName: "test-model", dimension: 8) })
    }

    @Test func anUploadOnOneIsSearchableOnTheOtherAndADeleteGoesEverywhere() async throws {
        let (_, stores) = try await servers(2)
        let (a, b) = (stores[0], stores[1])
        var rng = SplitMix64(seed: 19)
        let uploaded = try (0..<20).map { try a.upload(fakeImageBytes($0), randomVector(8, &rng), name: "photo-\($0).jpg").image }
        // (B may have applied some already: a notification wakes its refresh.)
        _ = try b.refresh()
        #expect(b.count == 20)
        #expect(try b.refresh() == 0)
        // The same vectors bit for bit (float4 through real[] into pgvector and back).
        for image in uploaded { #expect(b.embedding(id: image.id) == a.embedding(id: image.id)) }
        let victim = uploaded[3]
        let probe = try #require(a.embedding(id: victim.id))
        #expect(try b.search(probe, k: 1).hits.first?.image.id == victim.id)
        // The bytes live in the database: B serves A's upload.
        let onB = try #require(try b.image(id: victim.id))
        #expect(onB == victim)
        #expect(try b.original(of: onB) == fakeImageBytes(3))
        #expect(try b.thumbnail(id: victim.id) == [0xFF, 0xD8, 0xFF, 0xD9])
        #expect(try b.imagesMatching(words: ["photo"], limit: 50, filter: ImageFilter()).count == 20)

        #expect(try a.delete(id: victim.id))
        _ = try b.refresh()
        #expect(b.count == 19)
        #expect(try !b.search(probe, k: 20).hits.contains { $0.image.id == victim.id })
        #expect(try b.image(id: victim.id) == nil && b.thumbnail(id: victim.id) == nil && b.original(of: onB) == nil)
        #expect(try !b.delete(id: victim.id))

        // A write on B first takes in what A committed: A's newer upload is in B's vectors without a refresh.
        let fromA = try a.upload(fakeImageBytes(100), randomVector(8, &rng)).image
        let fromB = try b.upload(fakeImageBytes(101), randomVector(8, &rng)).image
        #expect(b.embedding(id: fromA.id) != nil && b.count == 21)
        #expect(fromB.id > fromA.id)
        _ = try a.refresh()
        #expect(a.count == 21)
    }

    @Test func aNotificationBringsAnotherServersChangeWithoutARefreshCall() async throws {
        let (_, stores) = try await servers(2)
        let (a, b) = (stores[0], stores[1])
        func within(seconds: Double, _ condition: () -> Bool) async throws -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while !condition() && Date() < deadline { try await Task.sleep(for: .milliseconds(5)) }
            return condition()
        }
        let id = try a.upload(fakeImageBytes(5), [0, 0, 1, 0, 0, 0, 0, 0]).image.id
        #expect(try await within(seconds: 5) { b.embedding(id: id) != nil })
        #expect(try a.delete(id: id))
        #expect(try await within(seconds: 5) { b.embedding(id: id) == nil })
    }

    /// Far more blocking callers than the cooperative pool has threads (two here), each waiting on the
    /// database at once: the queries run on the store's own event loops, so all finish.
    @Test(.timeLimit(.minutes(1))) func manyBlockingCallersOnTheCooperativePoolAllFinish() async throws {
        let (_, stores) = try await servers(1)
        let store = stores[0]
        let ids = try await withThrowingTaskGroup(of: Int64.self) { group in
            for i in 0..<64 {
                group.addTask {
                    var v = [Float](repeating: 0.1, count: 8)
                    v[i % 8] = 1
                    let id = try store.upload(fakeImageBytes(500 + i), v).image.id
                    #expect(try store.image(id: id)?.id == id)
                    return id
                }
            }
            var all: [Int64] = []
            for try await id in group { all.append(id) }
            return all
        }
        #expect(Set(ids).count == 64 && store.count == 64)
    }

    @Test func serversStartingAtOnceOnANewDatabaseMigrateItOnce() async throws {
        let url = try await PostgresTestDatabase.create()
        let stores = try await withThrowingTaskGroup(of: PostgresLibrary.self) { group in
            for _ in 0..<4 { group.addTask { try PostgresLibrary(url: url, modelName: "test-model", dimension: 8) } }
            var opened: [PostgresLibrary] = []
            for try await store in group { opened.append(store) }
            return opened
        }
        let id = try stores[0].upload(fakeImageBytes(1), [1, 0, 0, 0, 0, 0, 0, 0]).image.id
        for store in stores.dropFirst() {
            _ = try store.refresh()
            #expect(store.embedding(id: id) == [1, 0, 0, 0, 0, 0, 0, 0])
        }
        let versions = try stores[0].read("reading the migrations") { db, logger in
            try await db.rows("SELECT version FROM clip_schema_migrations ORDER BY version", logger: logger).decode(Int.self).array()
        }
        #expect(versions == PostgresSchema.migrations.map(\.version))
    }

    @Test func aServerThatIsNotThereFailsTheOpenWithATypedError() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("no-postgres-\(UUID().uuidString)")
        #expect(throws: LibraryStoreError.self) {
            try PostgresLibrary(url: "postgresql://postgres@/x?host=\(folder.path)&connect_timeout=1", modelName: "m", dimension: 8)
        }
    }

    /// The bigserial gap problem: two servers write (uploads and deletes) at once while a third
    /// follows with refresh() in a loop; the follower must end up with exactly the database's vectors.
    @Test func aFollowerOfTwoConcurrentWritersEndsUpWithTheDatabasesVectors() async throws {
        let (url, stores) = try await servers(3)
        let (a, b, follower) = (stores[0], stores[1], stores[2])
        let writersDone = DoneCount()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (w, writer) in [a, b].enumerated() {
                group.addTask {
                    var rng = SplitMix64(seed: UInt64(100 + w))
                    for i in 0..<60 {
                        let id = try writer.upload(fakeImageBytes(w * 1000 + i), randomVector(8, &rng)).image.id
                        if i % 4 == 0 { _ = try writer.delete(id: id) }
                        else if i % 7 == 0 { try writer.setEmbedding(id: id, embedding: randomVector(8, &rng)) }
                    }
                    writersDone.count.withLock { $0 += 1 }
                }
            }
            group.addTask {
                while writersDone.count.withLock({ $0 }) < 2 { _ = try follower.refresh() }
            }
            try await group.waitForAll()
        }
        _ = try follower.refresh()
        let fresh = try PostgresLibrary(url: url, modelName: "test-model", dimension: 8)
        #expect(fresh.count == 2 * 45)
        for store in [a, b, follower] {
            _ = try store.refresh()
            #expect(Set(store.vectors.ids) == Set(fresh.vectors.ids))
            for id in fresh.vectors.ids { #expect(store.embedding(id: id) == fresh.embedding(id: id), "image \(id)") }
        }
    }
}

private final class DoneCount: Sendable {
    let count = Mutex(0)
}
