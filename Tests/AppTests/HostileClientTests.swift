import Foundation
import Testing

/// What a client with no credentials on the same network (or a web page in a browser there) can
/// try against a real `clip-server serve`, through raw sockets.
@Suite("Hostile clients")
struct HostileClientTests {
    static func withServer(_ arguments: [String] = [], _ body: (ServerProcess) async throws -> Void) async throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await ServerProcess.start(db: directory.appendingPathComponent("index.sqlite").path,
                                                   arguments: arguments)
        defer { server.kill(SIGKILL) }
        try await body(server)
    }

    static func status(_ response: String) -> Int {
        Int(response.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") ?? 0
    }

    /// DNS rebinding: a page on evil.example whose name now resolves to us sends Host: evil.example.
    @Test func foreignHostNamesAreRefused() async throws {
        try await Self.withServer(["--allowed-host", "photos.lan"]) { server in
            let port = server.port
            func get(host: String) throws -> String {
                try RawConnection.exchange(port: port, "GET /images HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n")
            }
            let foreign = try get(host: "evil.example")
            #expect(Self.status(foreign) == 403 && foreign.contains("forbidden_host"), "\(foreign)")
            #expect(Self.status(try get(host: "evil.example.:\(port)")) == 403)
            for allowed in ["localhost:\(port)", "127.0.0.1:\(port)", "192.168.0.7:8080", "[::1]:\(port)", "PHOTOS.lan:80", "my.localhost"] {
                #expect(Self.status(try get(host: allowed)) == 200, "Host: \(allowed)")
            }
        }
    }

    /// CSRF: a page elsewhere posts a form (multipart needs no preflight) or deletes.
    @Test func stateChangesFromAForeignOriginAreRefused() async throws {
        try await Self.withServer { server in
            let port = server.port
            let image = try Fixtures.image("png-rgb-tiny-50x37.png")
            func upload(origin: String) throws -> String {
                let boundary = "b0undary"
                let body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\n".utf8)
                    + image + Array("\r\n--\(boundary)--\r\n".utf8)
                let head = "POST /index HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nOrigin: \(origin)\r\nConnection: close\r\n"
                    + "Content-Type: multipart/form-data; boundary=\(boundary)\r\nContent-Length: \(body.count)\r\n\r\n"
                let connection = try RawConnection(port: port)
                try connection.send(Array(head.utf8) + body)
                return try connection.readToClose()
            }
            for origin in ["http://evil.example", "null", "http://127.0.0.1.evil.example:\(port)"] {
                let refused = try upload(origin: origin)
                #expect(Self.status(refused) == 403 && refused.contains("forbidden_origin"), "Origin \(origin): \(refused)")
            }
            #expect(try await server.getJSON("/images").body["total"] as? Int == 0)
            let deleted = try RawConnection.exchange(port: port,
                "DELETE /images/1 HTTP/1.1\r\nHost: localhost\r\nOrigin: https://evil.example\r\nConnection: close\r\n\r\n")
            #expect(Self.status(deleted) == 403)
            // The page itself (same origin) may.
            #expect(Self.status(try upload(origin: "http://127.0.0.1:\(port)")) == 200)
            #expect(try await server.getJSON("/images").body["total"] as? Int == 1)
        }
    }

    /// Python's urllib sends the whole body before it reads, with Connection: close: it must get the
    /// 413, not wait for its timeout while the server no longer reads.
    @Test func oversizedBodyIsAnsweredWhileTheClientStillSends() async throws {
        try await Self.withServer(["--max-body-mb", "1"]) { server in
            let connection = try RawConnection(port: server.port, timeout: 20)
            let body = [UInt8](repeating: 0x41, count: 24 << 20)
            try connection.send("POST /index HTTP/1.1\r\nHost: localhost\r\nContent-Type: image/jpeg\r\n"
                                + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n")
            try connection.send(body)
            let answer = try connection.readToClose()
            #expect(Self.status(answer) == 413 && answer.contains("body_too_large"), "\(answer.prefix(300))")
            // The server is still up.
            #expect(try await server.get("/healthz").status == 200)
        }
    }

    /// Half-sent requests (slowloris) and silent connections are closed after the idle timeout.
    @Test func halfSentAndIdleConnectionsAreClosed() async throws {
        try await Self.withServer(["--idle-timeout", "1"]) { server in
            let halfSent = try RawConnection(port: server.port, timeout: 10)
            try halfSent.send("GET /images HTTP/1.1\r\nHost: local")
            let silent = try RawConnection(port: server.port, timeout: 10)
            // Both are closed by the server (readToClose returns) well before their 10 s timeouts.
            #expect(try halfSent.readToClose().isEmpty)
            #expect(try silent.readToClose().isEmpty)
            // A keep-alive connection is served, then closed when it goes quiet.
            let kept = try RawConnection(port: server.port, timeout: 10)
            try kept.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(Self.status(try kept.readToClose()) == 200)
        }
    }
}
