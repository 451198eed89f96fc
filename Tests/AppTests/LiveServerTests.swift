import Foundation
import Testing

/// The built `clip-server` as users run it: `serve --library` keeps a folder searchable as it
/// changes, and a running server sees what another process (`clip-server index`) writes.
@Suite("Live library server", .serialized)
struct LiveServerTests {
    private func sources(_ server: ServerProcess, _ query: String = "photo") async throws -> [String] {
        let body = try await server.getJSON("/search?q=\(query)&k=100").body
        return (body["results"] as? [[String: Any]] ?? []).compactMap { $0["source"] as? String }
    }

    @Test func serveLibraryFollowsTheFolder() async throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let photos = directory.appendingPathComponent("photos").resolvingSymlinksInPath()
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        try Data(try Fixtures.image("jpeg-exact-224x224.jpg")).write(to: photos.appendingPathComponent("first.jpg"))
        let server = try await ServerProcess.start(db: directory.appendingPathComponent("index.sqlite").path,
                                                   arguments: ["--library", photos.path, "--scan-interval", "3600"])
        defer { server.kill(SIGKILL) }
        #expect(try await eventually {
            let folders = try await server.getJSON("/library").body["folders"] as? [[String: Any]] ?? []
            return folders.first?["last_scan"] is String && folders.first?["files"] as? Int == 1
        })
        let folder = try #require((try await server.getJSON("/library").body["folders"] as? [[String: Any]])?.first)
        #expect(folder["path"] as? String == photos.path && folder["pending"] as? Int == 0)

        try Data(try Fixtures.image("png-gray-250x250.png")).write(to: photos.appendingPathComponent("second.png"))
        let second = photos.appendingPathComponent("second.png").path
        #expect(try await eventually { try await sources(server).contains(second) })
        try FileManager.default.removeItem(atPath: second)
        #expect(try await eventually { try await !sources(server).contains(second) })

        let metrics = String(decoding: try await server.get("/metrics").body, as: UTF8.self)
        #expect(metrics.contains("clip_library_files{folder=\"\(photos.path)\"} 1"))
    }

    @Test func aRunningServerSeesTheCLIsWrites() async throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appendingPathComponent("index.sqlite").path
        let server = try await ServerProcess.start(db: db)
        defer { server.kill(SIGKILL) }
        #expect(try await server.getJSON("/readyz").body["images"] as? Int == 0)

        let photos = directory.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        for name in Fixtures.smallImages { try Data(try Fixtures.image(name)).write(to: photos.appendingPathComponent(name)) }
        let index = Process()
        index.executableURL = ServerProcess.executable
        index.arguments = ["index", "--model", Fixtures.model.path, "--db", db, photos.path]
        index.standardOutput = FileHandle.nullDevice
        index.standardError = FileHandle.nullDevice
        try index.run()
        index.waitUntilExit()
        #expect(index.terminationStatus == 0)
        #expect(try await eventually(10) { try await server.getJSON("/readyz").body["images"] as? Int == Fixtures.smallImages.count })
        #expect(try await sources(server).count == Fixtures.smallImages.count)

        // A delete through the server is seen by a second server on the same database.
        let other = try await ServerProcess.start(db: db)
        defer { other.kill(SIGKILL) }
        let victim = try #require((try await server.getJSON("/search?q=x&k=1").body["results"] as? [[String: Any]])?.first?["id"] as? Int)
        #expect(try await server.request("DELETE", "/images/\(victim)").status == 204)
        #expect(try await eventually(10) { try await other.getJSON("/readyz").body["images"] as? Int == Fixtures.smallImages.count - 1 })
    }
}
