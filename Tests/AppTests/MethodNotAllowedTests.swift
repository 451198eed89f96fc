import App
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// A known path asked with a method it does not take: 405 with `Allow`, never 404 (RFC 9110 15.5.6).
@Suite struct MethodNotAllowedTests {
    @Test func knownPathsAnswer405WithAllow() async throws {
        let server = try TestServer(settings: ServerSettings(apiKey: "secret", publicDirectory: Fixtures.publicFolder))
        try await server.test { client in
            let cases: [(HTTPRequest.Method, String, String)] = [
                (.put, "/search", "GET, HEAD, POST"), (.get, "/embed", "POST"), (.delete, "/images", "GET, HEAD"),
                (.post, "/images/3", "DELETE, GET, HEAD"), (.patch, "/images/3/thumbnail", "GET, HEAD"), (.get, "/index", "POST"),
                (.get, "/knn-service", "POST"), (.post, "/indices-list", "GET, HEAD"), (.get, "/v1/embeddings", "POST"),
                (.delete, "/v1/models", "GET, HEAD"), (.get, "/predict", "POST"), (.post, "/ping", "GET, HEAD"),
                (.get, "/vectorize", "POST"), (.put, "/.well-known/ready", "GET, HEAD"), (.post, "/openapi.yaml", "GET, HEAD"),
                (.post, "/", "GET, HEAD"), (.delete, "/app.js", "GET, HEAD"),
            ]
            for (method, path, allow) in cases {
                let response = try await client.execute(uri: path, method: method)
                try expectError(response, .methodNotAllowed, "method_not_allowed")
                #expect(response.headers[.allow] == allow, "\(method) \(path)")
            }
            // Unknown paths stay 404; HEAD works wherever GET does.
            try expectError(try await client.execute(uri: "/nothing-here", method: .post), .notFound, "not_found")
            #expect(try await client.execute(uri: "/healthz", method: .head).status == .ok)
        }
    }
}
