@testable import App
import Foundation
import Hummingbird
import TestImages
import HummingbirdTesting
import Testing

/// Requests that would cost the server far more than they are worth are refused before the work.
@Suite struct RequestLimitTests {
    @Test func overlongTextsAreRefusedBeforeCleaning() async throws {
        let server = try TestServer()
        try await server.test { client in
            // 120 KB of nested entities: the cleaner peels one layer per pass over the whole text.
            let nested = "&" + String(repeating: "amp;", count: 30_000)   // &amp;amp;amp;...
            try expectError(try await client.json(.post, "/search", ["text": nested]), .badRequest, "text_too_long")
            try expectError(try await client.execute(uri: "/search?q=" + String(repeating: "a", count: 2001), method: .get),
                            .badRequest, "text_too_long")
            try expectError(try await client.json(.post, "/search", ["text": "x", "negative": ["y", nested]]), .badRequest, "text_too_long")
            try expectError(try await client.json(.post, "/embed", ["texts": ["ok", nested]]), .badRequest, "text_too_long")
            try expectError(try await client.json(.post, "/classify", ["image_id": 1, "labels": [nested]]), .badRequest, "text_too_long")
            // The longest accepted text still works.
            #expect(try await client.json(.post, "/embed", ["texts": [String(repeating: "a ", count: 1000)]]).status == .ok)
        }
    }

    @Test func hugeArraysAreRefusedBeforeTheyAreDecoded() async throws {
        let server = try TestServer()
        try await server.test { client in
            // 2,000,000 labels: refused by the scan, not after building 2,000,000 JSON values.
            let labels = "[" + Array(repeating: "\"a\"", count: 2_000_000).joined(separator: ",") + "]"
            let body = Array("{\"image_id\":1,\"labels\":\(labels)}".utf8)
            try expectError(try await client.raw(.post, "/classify", body, contentType: "application/json"), .badRequest, "too_many_items")
            // Commas inside strings are text.
            let commas = try await client.json(.post, "/search", ["text": String(repeating: ",", count: 1500)])
            #expect(commas.status == .ok)
        }
    }

    @Test func tooManyPartsInOneUpload() async throws {
        let server = try TestServer()
        try await server.test { client in
            let image = try Fixtures.image("png-rgb-tiny-50x37.png")
            let parts = (0...ServerSettings.maxUploadParts).map { (field: "image", filename: Optional("\($0).png"), bytes: image) }
            let body = multipartBody(boundary: "xyz", parts: parts)
            try expectError(try await client.raw(.post, "/index", body, contentType: "multipart/form-data; boundary=xyz"),
                            .badRequest, "too_many_parts")
            #expect(try await client.execute(uri: "/images", method: .get).object()["total"] as? Int == 0)
        }
    }

    /// Found by Fuzz/FuzzMultipart: a non-ASCII byte in a part's header name made multipart-kit trap,
    /// killing the server for every client.
    @Test func nonASCIIHeaderNamesInAnUploadAreRefused() async throws {
        let server = try TestServer()
        try await server.test { client in
            for name in [[0x43, 0x6F, 0x97], [0xC3, 0xA9], [0x41, 0xFF, 0x3A]] as [[UInt8]] {
                let body = Array("--b\r\n".utf8) + name + Array("ntent-Disposition: form-data; name=\"image\"\r\n\r\nxx\r\n--b--\r\n".utf8)
                try expectError(try await client.raw(.post, "/index", body, contentType: "multipart/form-data; boundary=b"),
                                .badRequest, "bad_multipart")
            }
            // The second input it found: a bare LF inside a header value does not end the line.
            let lf = Array("--b\r\nContent-Disposition: form-data;\n\r\nUns".utf8) + [0xFF] + Array("afe: x\r\n\r\nxx\r\n--b--\r\n".utf8)
            try expectError(try await client.raw(.post, "/index", lf, contentType: "multipart/form-data; boundary=b"),
                            .badRequest, "bad_multipart")
            // A UTF-8 file name in a header value is fine.
            let image = try Fixtures.image("png-rgb-tiny-50x37.png")
            let body = multipartBody(boundary: "b", parts: [(field: "image", filename: "café.png", bytes: image)])
            #expect(try await client.raw(.post, "/index", body, contentType: "multipart/form-data; boundary=b").status == .ok)
        }
    }

    @Test func jsonRoutesNeedTheJSONContentType() async throws {
        let server = try TestServer()
        try await server.test { client in
            let body = Array(#"{"text":"a cat"}"#.utf8)
            for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
                try expectError(try await client.raw(.post, "/search", body, contentType: type), .unsupportedMediaType, "unsupported_media_type")
            }
            try expectError(try await client.execute(uri: "/embed", method: .post, body: ByteBuffer(bytes: body)),
                            .unsupportedMediaType, "unsupported_media_type")
            #expect(try await client.raw(.post, "/search", body, contentType: "application/json; charset=utf-8").status == .ok)
        }
    }

    @Test func longThinImagesAreRefusedFromTheirHeader() async throws {
        let server = try TestServer()
        try await server.test { client in
            try expectError(try await client.upload(PNGBuilder.gray(width: 60_000, height: 1), name: "strip.png"),
                            .unprocessableContent, "bad_image")
            #expect(try await client.upload(PNGBuilder.gray(width: 1000, height: 10), name: "banner.png").status == .ok)
        }
    }

    /// Two image jobs run, two wait, the fifth is told to come back.
    @Test func imageJobsBeyondTheQueueAreBusy() async throws {
        let limiter = ImageJobLimiter(running: 2, queued: 2)
        let gate = Gate()
        let started = Counter()
        let jobs = (0..<4).map { _ in
            Task { try await limiter.run { started.increment(); await gate.wait(); return 1 } }
        }
        while started.value < 2 { try await Task.sleep(for: .milliseconds(5)) }
        // Let the two waiting ones register.
        try await Task.sleep(for: .milliseconds(100))
        do {
            _ = try await limiter.run { 0 }
            Issue.record("a fifth job was accepted")
        } catch let error as APIError {
            #expect(error.status == .serviceUnavailable && error.code == "busy" && error.headers[.retryAfter] == "1")
        }
        await gate.open()
        for job in jobs { #expect(try await job.value == 1) }
        #expect(started.value == 4)
        // Free again.
        #expect(try await limiter.run { 7 } == 7)
    }
}

/// Tasks wait here until `open()`.
actor Gate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }
    func open() {
        isOpen = true
        for waiter in waiters { waiter.resume() }
        waiters = []
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
