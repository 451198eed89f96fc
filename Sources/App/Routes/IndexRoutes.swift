import CLIP
import Foundation
import Hummingbird
import Ingest

/// `POST /index`: multipart/form-data with one or many `image` parts, or a raw image/jpeg or
/// image/png body. Status rule (also in openapi.yaml): 200 with `{"indexed","errors"}` when at
/// least one image was stored or found as a duplicate; when none was, the error envelope with the
/// status of the first failure (413 `too_many_pixels`, 422 `bad_image`). A form field not named
/// `image` refuses the whole request (400 `bad_multipart`), as unknown JSON fields do.
struct IndexRoutes {
    let backend: Backend
    let settings: ServerSettings
    let metrics: ServerMetrics
    let jobs: ImageJobLimiter

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

    /// Mounted at `/index`, in the group of write routes (behind the API key).
    var endpoints: RouteCollection<AppRequestContext> {
        RouteCollection(context: AppRequestContext.self).post(use: index)
    }

    @Sendable func index(_ request: Request, context: AppRequestContext) async throws -> Response {
        let loaded = try backend.ready()
        let uploads = try await IndexRoutes.uploads(in: request, limit: settings.maxBodyBytes)
        let ingest = UploadIngest(encoder: loaded.encoder, store: loaded.store, maxPixels: settings.maxPixels,
                                  encodeCrops: { [metrics] crops in
            let (vectors, took) = loaded.images.submitAndWait(crops)
            metrics.recordEncode(kind: "image", duration: took)
            return vectors
        })
        let valid = uploads.map { Ingest.Upload(name: $0.name, bytes: $0.bytes) }
        // One turn for the whole request: UploadIngest decodes a few images at a time.
        var outcomes = try await jobs.run { try await offload { ingest.ingest(valid) } }.makeIterator()
        var indexed: [Indexed] = []
        var failures: [(name: String, error: APIError)] = []
        for upload in uploads {
            switch outcomes.next()! {
            case .success(let outcome):
                indexed.append(Indexed(id: outcome.image.id, sha256: outcome.image.sha256, duplicate: outcome.duplicate))
                if !outcome.duplicate { metrics.imagesIndexed.increment() }
            case .failure(let error):
                let mapped = APIError(error)
                if mapped.isServerFault { context.logger.error("POST /index \(upload.name): \(error)") }
                failures.append((upload.name, mapped))
            }
        }
        metrics.setIndexSize(loaded.store.vectors.count)
        if indexed.isEmpty, let first = failures.first {
            let message = failures.count == 1 ? first.error.message : failures.map(\.error.message).joined(separator: "; ")
            throw APIError(first.error.status, first.error.code, message)
        }
        return Response.json(Body(indexed: indexed,
                                  errors: failures.map { Failure(name: $0.name, code: $0.error.code, error: $0.error.message) }))
    }

    /// One image the request carries (named as `/index` reports it).
    struct Part {
        let name: String
        let bytes: [UInt8]
    }

    static func uploads(in request: Request, limit: Int) async throws -> [Part] {
        let contentType = request.headers[.contentType] ?? ""
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch mediaType {
        case "multipart/form-data":
            guard let boundary = Multipart.boundary(of: contentType) else {
                throw APIError(.badRequest, "bad_multipart", "multipart/form-data without a boundary parameter")
            }
            let body = try await request.collectBody(limit: limit)
            let parts = try Multipart.parse(body, boundary: boundary)
            var uploads: [Part] = []
            for (i, part) in parts.enumerated() {
                let name = part.filename ?? "\(part.name ?? "part")[\(i)]"
                guard part.name == "image" else {
                    throw APIError(.badRequest, "bad_multipart",
                                   "\(name): unexpected form field \"\(part.name ?? "")\"; images go in parts named \"image\"")
                }
                uploads.append(Part(name: name, bytes: part.body))
            }
            guard !uploads.isEmpty else {
                throw APIError(.badRequest, "bad_multipart", "the multipart body holds no part named \"image\"")
            }
            return uploads
        case "image/jpeg", "image/png":
            let name = request.queryItems.last(where: { $0.name == "name" })?.value ?? "upload"
            let body = try await request.collectBody(limit: limit)
            return [Part(name: name.isEmpty ? "upload" : name, bytes: body)]
        default:
            throw APIError(.unsupportedMediaType, "unsupported_media_type",
                           "Content-Type \(contentType.isEmpty ? "(none)" : contentType) is not accepted; send multipart/form-data with \"image\" parts, image/jpeg or image/png")
        }
    }
}
