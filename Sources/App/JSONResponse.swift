import Foundation
import Hummingbird
import NIOCore

extension Response {
    /// `value` as a JSON body (keys sorted so responses are stable to diff).
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":{"code":"internal","message":"response encoding failed"}}"#.utf8)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The error envelope of DESIGN.md 3: `{"error":{"code","message"}}`.
    static func error(_ error: APIError) -> Response {
        struct Envelope: Encodable {
            struct Body: Encodable { let code: String; let message: String }
            let error: Body
        }
        return json(Envelope(error: .init(code: error.code, message: error.message)), status: error.status)
    }

    static func bytes(_ bytes: [UInt8], contentType: String, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: contentType]
        headers.append(contentsOf: extra)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension Request {
    /// The whole body, or 413 `body_too_large` past `limit` (checked against Content-Length first,
    /// so an oversized upload is refused before it is read).
    func collectBody(limit: Int) async throws -> [UInt8] {
        if let length = headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw APIError.bodyTooLarge(limit: limit)
        }
        do {
            let buffer = try await body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw APIError.bodyTooLarge(limit: limit)
        }
    }

    /// The body of a JSON route: `Content-Type: application/json` is required (415 otherwise: a
    /// form post from a foreign page cannot reach a JSON route), then the size limit.
    func collectJSONBody(limit: Int) async throws -> [UInt8] {
        let mediaType = headers[.contentType]?.split(separator: ";").first
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard mediaType == "application/json" else {
            throw APIError(.unsupportedMediaType, "unsupported_media_type",
                           "send the body as JSON with Content-Type: application/json (got \(headers[.contentType].map { "\"\($0.prefix(100))\"" } ?? "none"))")
        }
        return try await collectBody(limit: limit)
    }

    /// The body of a compatibility route whose client posts JSON without a Content-Type
    /// (clip-retrieval's `ClipClient`, as its Flask back end's `get_json(force=True)` reads it):
    /// no Content-Type or `application/json`; anything else is 415, so a form post from a foreign
    /// page still cannot reach it.
    func collectJSONBodyAllowingNoContentType(limit: Int) async throws -> [UInt8] {
        if headers[.contentType] == nil { return try await collectBody(limit: limit) }
        return try await collectJSONBody(limit: limit)
    }

    /// Query parameters decoded the way browsers encode forms (`+` is a space, then %XX), in order.
    var queryItems: [(name: String, value: String)] {
        guard let query = uri.query, !query.isEmpty else { return [] }
        return query.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                let spaced = s.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }
}
