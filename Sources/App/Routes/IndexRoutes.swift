import CLIP
import Foundation
import Hummingbird
import SearchIndex

/// `POST /index`: multipart/form-data with one or many `image` parts, or a raw image/jpeg or
/// image/png body. Status rule (also in openapi.yaml): 200 with `{"indexed","errors"}` when at
/// least one image was stored or found as a duplicate; when none was, the error envelope with the
/// status of the first failure (413 `too_many_pixels`, 422 `bad_image`, 400 `bad_multipart`).
struct IndexRoutes {
    let backend: Backend
    let settings: ServerSettings
    let metrics: ServerMetrics
    let inFlight: InFlightUploads

    struct Indexed: Encodable {
        let id: Int64
        let sha256: String
        let duplicate: Bool
    }

    struct Failure: Encodable {
        let name: String
        let code: String
        let error: String
    }

    struct Body: Encodable {
        let indexed: [Indexed]
        let errors: [Failure]
    }

    func register(on router: Router<AppRequestContext>) {
        router.post("/index") { request, _ in
            try APIKey.check(request, settings: settings)
            let loaded = try backend.ready()
            let uploads = try await IndexRoutes.uploads(in: request, limit: settings.maxBodyBytes)
            let ingest = ImageIngest(loaded: loaded, maxPixels: settings.maxPixels, inFlight: inFlight, metrics: metrics)
            var indexed: [Indexed] = []
            var failures: [(name: String, error: APIError)] = []
            for upload in uploads {
                if let problem = upload.problem {
                    failures.append((upload.name, problem))
                    continue
                }
                do {
                    let outcome = try await ingest.ingest(bytes: upload.bytes, source: upload.name)
                    indexed.append(Indexed(id: outcome.image.id, sha256: outcome.image.sha256, duplicate: outcome.duplicate))
                } catch {
                    failures.append((upload.name, APIError.from(any: error)))
                }
            }
            if indexed.isEmpty, let first = failures.first {
                let message = failures.count == 1
                    ? first.error.message
                    : failures.map { $0.error.message }.joined(separator: "; ")
                throw APIError(first.error.status, first.error.code, message)
            }
            return Response.json(Body(indexed: indexed,
                              errors: failures.map { Failure(name: $0.name, code: $0.error.code, error: $0.error.message) }))
        }
    }

    /// One image the request carries; `problem` set when the part itself is unusable.
    struct Upload {
        let name: String
        let bytes: [UInt8]
        var problem: APIError?
    }

    static func uploads(in request: Request, limit: Int) async throws -> [Upload] {
        let contentType = request.headers[.contentType] ?? ""
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch mediaType {
        case "multipart/form-data":
            guard let boundary = Multipart.boundary(of: contentType) else {
                throw APIError(.badRequest, "bad_multipart", "multipart/form-data without a boundary parameter")
            }
            let body = try await request.collectBody(limit: limit)
            let parts = try Multipart.parse(body, boundary: boundary)
            var uploads: [Upload] = []
            for (i, part) in parts.enumerated() {
                let name = part.filename ?? "\(part.name ?? "part")[\(i)]"
                if part.name == "image" {
                    uploads.append(Upload(name: name, bytes: part.body))
                } else {
                    uploads.append(Upload(name: name, bytes: [], problem: APIError(.badRequest, "bad_multipart",
                        "\(name): unexpected form field \"\(part.name ?? "")\"; images go in parts named \"image\"")))
                }
            }
            guard !uploads.isEmpty else {
                throw APIError(.badRequest, "bad_multipart", "the multipart body holds no part named \"image\"")
            }
            return uploads
        case "image/jpeg", "image/png":
            let name = request.queryItems.last(where: { $0.name == "name" })?.value ?? "upload"
            let body = try await request.collectBody(limit: limit)
            return [Upload(name: name.isEmpty ? "upload" : name, bytes: body)]
        default:
            throw APIError(.unsupportedMediaType, "unsupported_media_type",
                           "Content-Type \(contentType.isEmpty ? "(none)" : contentType) is not accepted; send multipart/form-data with \"image\" parts, image/jpeg or image/png")
        }
    }
}

/// The optional write key: `Authorization: Bearer <key>`, compared in constant time.
enum APIKey {
    static func check(_ request: Request, settings: ServerSettings) throws(APIError) {
        guard let expected = settings.apiKey else { return }
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        guard header.count > prefix.count, header.lowercased().hasPrefix(prefix.lowercased()) else {
            throw APIError(.unauthorized, "unauthorized", "this endpoint needs an API key: send Authorization: Bearer <key>")
        }
        let given = String(header.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
        guard constantTimeEqual(Array(given.utf8), Array(expected.utf8)) else {
            throw APIError(.unauthorized, "unauthorized", "the API key is wrong")
        }
    }

    /// Equal without an early exit; only the lengths' equality leaks.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        let n = max(a.count, b.count)
        for i in 0..<n {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}
