import Foundation
import Testing

/// Public/openapi.yaml names every route the server has and every error code App can send.
@Suite struct OpenAPITests {
    static let spec = (try? String(contentsOf: Fixtures.publicFolder.appendingPathComponent("openapi.yaml"), encoding: .utf8)) ?? ""

    @Test func everyRouteIsDescribed() throws {
        let paths = Set(OpenAPITests.spec.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  /"), line.hasSuffix(":") else { return nil }
            return String(line.dropFirst(2).dropLast())
        })
        #expect(paths == ["/search", "/index", "/images", "/images/{id}", "/images/{id}/thumbnail", "/duplicates", "/library", "/embed", "/classify",
                          "/healthz", "/readyz", "/metrics", "/", "/openapi.yaml",
                          "/knn-service", "/metadata", "/indices-list", "/v1/embeddings", "/v1/models",
                          "/predict", "/ping", "/vectorize", "/meta", "/.well-known/live", "/.well-known/ready"])
    }

    @Test func everyErrorCodeIsDocumented() throws {
        // Codes appear in the sources as the second argument of APIError(status, "code", ...).
        let folder = Fixtures.packageRoot.appendingPathComponent("Sources/App")
        var codes: Set<String> = []
        let pattern = try NSRegularExpression(pattern: #"APIError\([.A-Za-z]+, "([a-z_]+)""#)
        for case let path as String in FileManager.default.enumerator(atPath: folder.path)! where path.hasSuffix(".swift") {
            let text = try String(contentsOf: folder.appendingPathComponent(path), encoding: .utf8)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                codes.insert(String(text[Range(match.range(at: 1), in: text)!]))
            }
        }
        #expect(codes.count >= 10)
        for code in codes.sorted() { #expect(OpenAPITests.spec.contains("`\(code)`"), "error code \(code) is not in openapi.yaml") }
    }
}
