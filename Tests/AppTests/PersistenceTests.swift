import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The real `clip-server serve` process: what an acknowledged `/index` stored survives SIGKILL and
/// SIGTERM, with the same ids and the same search results after a restart.
@Suite(.serialized) struct PersistenceTests {
    @Test func acknowledgedUploadsSurviveSIGKILL() async throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appendingPathComponent("index.sqlite").path
        let names = Fixtures.smallImages + ["jpeg-exif6-400x300.jpg", "png-rgba-300x200.png", "jpeg-exif8-260x390.jpg"]

        var acknowledged: [(name: String, id: Int64)] = []
        do {
            let server = try await ServerProcess.start(db: db)
            defer { server.kill(SIGKILL) }
            for name in names.prefix(names.count / 2) {
                let (status, body) = try await server.post("/index?name=\(name)", body: try Fixtures.image(name),
                                                           contentType: name.hasSuffix(".png") ? "image/png" : "image/jpeg")
                #expect(status == 200)
                let entry = try #require((body["indexed"] as? [[String: Any]])?.first)
                acknowledged.append((name, try #require((entry["id"] as? NSNumber)?.int64Value)))
            }
            // One more upload in flight, then SIGKILL while it may be anywhere in encode/store.
            // The largest fixture: decoding and encoding it takes long enough to be killed mid-way.
            let inFlightName = "jpeg-large-2400x1800.jpg"
            let bytes = try Fixtures.image(inFlightName)
            let inFlight = Task { () -> Int64? in
                guard let (status, body) = try? await server.post("/index?name=\(inFlightName)", body: bytes, contentType: "image/jpeg"),
                      status == 200 else { return nil }
                return ((body["indexed"] as? [[String: Any]])?.first?["id"] as? NSNumber)?.int64Value
            }
            try await Task.sleep(for: .milliseconds(15))
            server.kill(SIGKILL)
            if let id = await inFlight.value {
                acknowledged.append((inFlightName, id))
            }
        }

        let server = try await ServerProcess.start(db: db)
        defer { server.kill(SIGTERM) }
        for (name, id) in acknowledged {
            let (status, original) = try await server.get("/images/\(id)")
            #expect(status == 200, "image \(id) (\(name)) lost")
            #expect(original == (try Fixtures.image(name)))
            let (_, search) = try await server.postJSON("/search", ["image_id": id, "k": 1])
            #expect(ids(search) == [id])
        }
        // Nothing half-written: every row has its original, thumbnail and vector; at most the one
        // in-flight upload beyond those acknowledged.
        let (_, listBody) = try await server.getJSON("/images?limit=1000")
        let rows = (listBody["images"] as? [[String: Any]]) ?? []
        #expect(rows.count >= acknowledged.count && rows.count <= names.count / 2 + 1)
        for row in rows {
            let id = try #require((row["id"] as? NSNumber)?.int64Value)
            #expect(try await server.get("/images/\(id)").status == 200)
            #expect(try await server.get("/images/\(id)/thumbnail").status == 200)
            let (_, search) = try await server.postJSON("/search", ["image_id": id, "k": 1])
            #expect(ids(search) == [id], "row \(id) has no vector")
        }
        let (_, searchAll) = try await server.postJSON("/search", ["text": "x", "k": 100])
        #expect(searchAll["total"] as? Int == rows.count)
        // No stored original without a row (serve removes those of uncommitted uploads at start;
        // an interrupted temp file may remain, hidden, until it is an hour old).
        let originals = directory.appendingPathComponent("originals")
        let files = (FileManager.default.enumerator(atPath: originals.path)?.allObjects as? [String] ?? [])
            .filter { path in
                var isDirectory: ObjCBool = false
                FileManager.default.fileExists(atPath: originals.appendingPathComponent(path).path, isDirectory: &isDirectory)
                return !isDirectory.boolValue && !(path as NSString).lastPathComponent.hasPrefix(".tmp-")
            }
        #expect(files.count == rows.count, "\(files)")
    }

    @Test func stopAndStartKeepsIDsAndResults() async throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appendingPathComponent("index.sqlite").path
        let query: [String: Any] = ["text": "a photo of a cat", "k": 10]

        let first = try await ServerProcess.start(db: db)
        var stored: [Int64] = []
        for name in Fixtures.smallImages.prefix(4) {
            let (status, body) = try await first.post("/index?name=\(name)", body: try Fixtures.image(name),
                                                      contentType: name.hasSuffix(".png") ? "image/png" : "image/jpeg")
            #expect(status == 200)
            stored.append(try #require(((body["indexed"] as? [[String: Any]])?.first?["id"] as? NSNumber)?.int64Value))
        }
        let (_, before) = try await first.postJSON("/search", query)
        let (_, listBefore) = try await first.getJSON("/images")
        first.kill(SIGTERM)
        #expect(first.waitForExit() == 0, "SIGTERM should end the server cleanly")

        let second = try await ServerProcess.start(db: db)
        defer { second.kill(SIGTERM) }
        let (_, after) = try await second.postJSON("/search", query)
        #expect(ids(after) == ids(before))
        #expect(scores(after) == scores(before))
        #expect(Set(ids(after)) == Set(stored))
        let (_, listAfter) = try await second.getJSON("/images")
        #expect(NSDictionary(dictionary: listAfter) == NSDictionary(dictionary: listBefore))
        // Re-uploading after the restart is still recognized as a duplicate with the same id.
        let (status, again) = try await second.post("/index?name=again", body: try Fixtures.image(Fixtures.smallImages[0]), contentType: "image/jpeg")
        #expect(status == 200)
        let entry = (again["indexed"] as? [[String: Any]])?.first
        #expect((entry?["id"] as? NSNumber)?.int64Value == stored[0])
        #expect(entry?["duplicate"] as? Bool == true)
    }
}

/// A `clip-server serve` child process on a free loopback port.
final class ServerProcess: @unchecked Sendable {
    let process: Process
    let base: String

    private init(process: Process, base: String) {
        self.process = process
        self.base = base
    }

    /// The built executable: beside the test bundle (same build folder), else .build/debug.
    static var executable: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("clip-server")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return Fixtures.packageRoot.appendingPathComponent(".build/debug/clip-server")
    }

    /// `serve` of `model` on `db`; its log (stderr) goes to `log` when given. Started in the package
    /// root with `--public Public`, or in `directory` with no `--public` (the built-in copy).
    static func start(db: String, model: URL = Fixtures.model, log: URL? = nil, arguments extra: [String] = [],
                      directory: URL? = nil) async throws -> ServerProcess {
        let process = Process()
        process.executableURL = executable
        process.currentDirectoryURL = directory ?? Fixtures.packageRoot
        process.arguments = ["serve", "--model", model.path, "--db", db, "--port", "0"]
            + (directory == nil ? ["--public", Fixtures.publicFolder.path] : []) + extra
        let stdout = Pipe()
        process.standardOutput = stdout
        if let log {
            FileManager.default.createFile(atPath: log.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: log)
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        // The first stdout line is {"listening":"http://127.0.0.1:PORT"}.
        let line = try await Task.detached { () -> String in
            var bytes: [UInt8] = []
            while let byte = try stdout.fileHandleForReading.read(upToCount: 1)?.first, byte != UInt8(ascii: "\n") {
                bytes.append(byte)
            }
            return String(decoding: bytes, as: UTF8.self)
        }.value
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        let base = try #require(object?["listening"] as? String, "no listening line from serve: \(line)")
        let server = ServerProcess(process: process, base: base)
        // Ready once the model and the database are loaded.
        for _ in 0..<200 {
            if (try? await server.get("/readyz"))?.status == 200 { return server }
            try await Task.sleep(for: .milliseconds(50))
        }
        server.kill(SIGKILL)
        throw ProcessError.notReady
    }

    enum ProcessError: Error { case notReady }

    func kill(_ signal: Int32) {
        if process.isRunning { Foundation.kill(process.processIdentifier, signal) }
    }

    func waitForExit() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    // MARK: - HTTP

    /// The bound port.
    var port: UInt16 { UInt16(base.split(separator: ":").last.flatMap { Int($0) } ?? 0) }

    func request(_ method: String, _ path: String, body: [UInt8]? = nil, contentType: String? = nil) async throws -> (status: Int, body: [UInt8]) {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        request.timeoutInterval = 60
        if let body { request.httpBody = Data(body) }
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, [UInt8](data))
    }

    func get(_ path: String) async throws -> (status: Int, body: [UInt8]) {
        try await request("GET", path)
    }

    func getJSON(_ path: String) async throws -> (status: Int, body: [String: Any]) {
        let (status, bytes) = try await get(path)
        return (status, (try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]) ?? [:])
    }

    func post(_ path: String, body: [UInt8], contentType: String) async throws -> (status: Int, body: [String: Any]) {
        let (status, bytes) = try await request("POST", path, body: body, contentType: contentType)
        return (status, (try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]) ?? [:])
    }

    func postJSON(_ path: String, _ object: [String: Any]) async throws -> (status: Int, body: [String: Any]) {
        try await post(path, body: [UInt8](try JSONSerialization.data(withJSONObject: object)), contentType: "application/json")
    }
}
