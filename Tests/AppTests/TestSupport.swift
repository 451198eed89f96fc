import App
import CLIP
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import LibraryStore
import Testing

// MARK: - Fixtures

enum Fixtures {
    /// The package root, from this file's path (Tests/AppTests/TestSupport.swift).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let model = packageRoot.appendingPathComponent("Tests/CLIPTests/Fixtures/model/tiny-hf-f16")
    static let vocabulary = packageRoot.appendingPathComponent("Models/bpe_simple_vocab_16e6.txt.gz")
    static let imagesFolder = packageRoot.appendingPathComponent("Tests/CLIPTests/Fixtures/images")
    static let publicFolder = packageRoot.appendingPathComponent("Public")

    /// The tiny HF-layout model, loaded once for all tests.
    static let encoder: CLIPEncoder = {
        do {
            return try CLIPEncoder(modelDirectory: model, fallbackVocabulary: vocabulary)
        } catch {
            fatalError("cannot load the fixture model: \(error)")
        }
    }()

    static func image(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: imagesFolder.appendingPathComponent(name)))
    }

    /// Small fixture images (fast to encode), in a fixed order.
    static let smallImages = [
        "jpeg-exact-224x224.jpg", "png-rgb-tiny-50x37.png", "jpeg-exif3-360x270.jpg",
        "png-palette-trns-240x180.png", "jpeg-gray-300x400.jpg", "png-gray-250x250.png",
    ]

    /// A stand-in for `Models/demo` in `directory`: the tiny model's files, a `demo.json` and a
    /// gallery of `galleryImages` (plus `captions.json`, which is not an image). Returns the model
    /// folder, named `name`. Without `demo.json` (`isDemo: false`) it stands in for a real model
    /// folder that happens to hold a gallery.
    static func demoStandIn(in directory: URL, name: String = "demo", isDemo: Bool = true,
                            galleryImages: [String] = Array(smallImages.prefix(4))) throws -> URL {
        let folder = directory.appendingPathComponent(name)
        let gallery = folder.appendingPathComponent("gallery")
        let manager = FileManager.default
        try manager.createDirectory(at: gallery, withIntermediateDirectories: true)
        for file in ["config.json", "model.safetensors"] {
            try manager.copyItem(at: model.appendingPathComponent(file), to: folder.appendingPathComponent(file))
        }
        if isDemo {
            let manifest = #"{"name":"clip-server-demo","description":"A stand-in for the demo model.","gallery":"gallery"}"#
            try Data(manifest.utf8).write(to: folder.appendingPathComponent("demo.json"))
        }
        var captions: [[String: String]] = []
        for (i, image) in galleryImages.enumerated() {
            let file = String(format: "%04d", i + 1) + "." + (image as NSString).pathExtension
            try manager.copyItem(at: imagesFolder.appendingPathComponent(image), to: gallery.appendingPathComponent(file))
            captions.append(["file": file, "caption": "image \(i + 1)"])
        }
        try JSONSerialization.data(withJSONObject: captions).write(to: gallery.appendingPathComponent("captions.json"))
        return folder
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("apptests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

// MARK: - An app on a fresh index

struct TestServer {
    let backend: Backend
    let index: SQLiteLibrary
    let directory: URL
    let router: Router<AppRequestContext>

    init(settings: ServerSettings = ServerSettings(publicDirectory: Fixtures.publicFolder), loaded: Bool = true,
         demo: DemoModel? = nil) throws {
        directory = try Fixtures.temporaryDirectory()
        let encoder = Fixtures.encoder
        index = try SQLiteLibrary(databasePath: directory.appendingPathComponent("index.sqlite").path,
                               dataDirectory: directory, modelName: encoder.name, dimension: encoder.dimension)
        backend = Backend()
        if loaded { backend.setLoaded(encoder: encoder, store: index, demo: demo) }
        router = ClipApplication.router(backend: backend, settings: settings)
    }

    func test(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        // Request log lines (info) would flood the test output; errors still show.
        var logger = Logger(label: "AppTests")
        logger.logLevel = .error
        try await Application(router: router, logger: logger).test(.router, body)
    }
}

// MARK: - Requests and responses

extension TestClientProtocol {
    func json(_ method: HTTPRequest.Method, _ uri: String, _ object: Any, headers: HTTPFields = [:]) async throws -> TestResponse {
        let data = try JSONSerialization.data(withJSONObject: object)
        var headers = headers
        headers[.contentType] = "application/json"
        return try await execute(uri: uri, method: method, headers: headers, body: ByteBuffer(bytes: data))
    }

    func raw(_ method: HTTPRequest.Method, _ uri: String, _ bytes: [UInt8], contentType: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        headers[.contentType] = contentType
        return try await execute(uri: uri, method: method, headers: headers, body: ByteBuffer(bytes: bytes))
    }

    /// Uploads one image as a raw body; returns the parsed response.
    func upload(_ bytes: [UInt8], name: String, apiKey: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let apiKey { headers[.authorization] = "Bearer \(apiKey)" }
        let type = bytes.starts(with: [0x89, 0x50]) ? "image/png" : "image/jpeg"
        let escaped = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name
        return try await raw(.post, "/index?name=\(escaped)", bytes, contentType: type, headers: headers)
    }

    /// Uploads and returns the stored id (expects 200).
    func uploadID(_ bytes: [UInt8], name: String) async throws -> Int64 {
        let response = try await upload(bytes, name: name)
        #expect(response.status == .ok)
        let body = try response.object()
        let indexed = try #require(body["indexed"] as? [[String: Any]])
        return try #require((indexed.first?["id"] as? NSNumber)?.int64Value)
    }

    /// Uploads every `Fixtures.smallImages` file; returns the stored ids and the bytes as base64,
    /// in the same order.
    func uploadSmallImages() async throws -> (ids: [Int64], base64: [String]) {
        var ids: [Int64] = []
        var base64: [String] = []
        for name in Fixtures.smallImages {
            let bytes = try Fixtures.image(name)
            ids.append(try await uploadID(bytes, name: name))
            base64.append(Data(bytes).base64EncodedString())
        }
        return (ids, base64)
    }
}

extension TestResponse {
    func object() throws -> [String: Any] {
        let data = Data(body.readableBytesView)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "not a JSON object: \(String(decoding: data, as: UTF8.self))")
    }

    var bytes: [UInt8] { Array(body.readableBytesView) }

    /// `(code, message)` of an error envelope; records an issue when the body is not one.
    func errorEnvelope() throws -> (code: String, message: String) {
        let body = try object()
        let error = try #require(body["error"] as? [String: Any], "no error envelope in \(body)")
        let code = try #require(error["code"] as? String)
        let message = try #require(error["message"] as? String)
        #expect(!message.isEmpty)
        return (code, message)
    }
}

/// `status` and `code` of an error response, in one expectation.
func expectError(_ response: TestResponse, _ status: HTTPResponse.Status, _ code: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(response.status == status, "status \(response.status.code), body \(String(decoding: response.bytes, as: UTF8.self))", sourceLocation: sourceLocation)
    let envelope = try response.errorEnvelope()
    #expect(envelope.code == code, "message: \(envelope.message)", sourceLocation: sourceLocation)
}

func ids(_ body: [String: Any]) -> [Int64] {
    ((body["results"] as? [[String: Any]]) ?? []).compactMap { ($0["id"] as? NSNumber)?.int64Value }
}

func scores(_ body: [String: Any]) -> [Float] {
    ((body["results"] as? [[String: Any]]) ?? []).compactMap { ($0["score"] as? NSNumber)?.floatValue }
}

func dot(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

func normalized(_ v: [Float]) -> [Float] {
    let norm = v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
    return v.map { $0 / norm }
}

/// A multipart/form-data body with the given parts.
func multipartBody(boundary: String, parts: [(field: String, filename: String?, bytes: [UInt8])]) -> [UInt8] {
    var body: [UInt8] = []
    for part in parts {
        var header = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part.field)\""
        if let filename = part.filename { header += "; filename=\"\(filename)\"" }
        header += "\r\nContent-Type: application/octet-stream\r\n\r\n"
        body += Array(header.utf8) + part.bytes + Array("\r\n".utf8)
    }
    body += Array("--\(boundary)--\r\n".utf8)
    return body
}

/// Polls `condition` every 100 ms until it holds or `seconds` pass (a server following a change).
func eventually(_ seconds: Double = 20, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}
