import Foundation
import Hummingbird

/// `GET /openapi.yaml`: Public/openapi.yaml with the loaded model's facts written in, so the spec
/// is exact for this server: lines marked `# @dimension` get the embedding length in place of 512,
/// lines marked `# @model-names` the names `ModelNames` accepts in their `enum: [...]`, lines marked
/// `# @index-name` the model's own name (clip-retrieval's one index). Before the
/// model is loaded the file is served as it is (ViT-B/32's values).
struct SpecRoute {
    let backend: Backend
    let staticFiles: StaticFiles

    var endpoints: RouteCollection<AppRequestContext> {
        RouteCollection(context: AppRequestContext.self).get("openapi.yaml", use: spec)
    }

    @Sendable func spec(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let bytes = staticFiles.file("openapi.yaml") else { throw APIError.notFound("no such file: /openapi.yaml") }
        var text = String(decoding: bytes, as: UTF8.self)
        if let encoder = backend.current?.encoder {
            let names = ModelNames(encoder: encoder)
            text = SpecRoute.specialized(text, dimension: encoder.dimension, lists: ["@model-names": names.accepted, "@index-name": [names.name]])
        }
        return .bytes(Array(text.utf8), contentType: "application/yaml", headers: [.cacheControl: "no-cache"])
    }

    /// `text` with the dimension and each marker's list of names (YAML single-quoted) written in.
    static func specialized(_ text: String, dimension: Int, lists: [String: [String]]) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            if line.hasSuffix("# @dimension") {
                return line.replacingOccurrences(of: ": 512", with: ": \(dimension)")
            }
            for (marker, names) in lists where line.hasSuffix("# \(marker)") {
                guard let open = line.range(of: "enum: ["), let close = line.range(of: "]", range: open.upperBound..<line.endIndex) else { continue }
                // A nullable enum lists null too (OpenAPI 3.0.3).
                let nullable = line[open.upperBound..<close.lowerBound].hasSuffix(", null")
                let list = (names.map { "'\($0.replacingOccurrences(of: "'", with: "''"))'" } + (nullable ? ["null"] : [])).joined(separator: ", ")
                return String(line[..<open.upperBound]) + list + String(line[close.lowerBound...])
            }
            return String(line)
        }.joined(separator: "\n")
    }
}
