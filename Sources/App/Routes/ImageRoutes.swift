import Foundation
import Hummingbird
import LibraryStore

/// `GET /images`, `GET /images/{id}`, `GET /images/{id}/thumbnail`, `DELETE /images/{id}`.
struct ImageRoutes {
    let backend: Backend
    let settings: ServerSettings
    let metrics: ServerMetrics

    struct Item: Encodable {
        let id: Int64
        let sha256: String
        let source: String
        let mime: String
        let width: Int
        let height: Int
        let byteSize: Int
        let createdAt: Double
        let takenAt: String
        let url: String
        let thumbnailURL: String
        enum CodingKeys: String, CodingKey {
            case id, sha256, source, mime, width, height, url
            case byteSize = "byte_size"
            case createdAt = "created_at"
            case takenAt = "taken_at"
            case thumbnailURL = "thumbnail_url"
        }

        init(_ image: StoredImage) {
            id = image.id
            sha256 = image.sha256
            source = image.source
            mime = image.mime
            width = image.width
            height = image.height
            byteSize = image.byteSize
            createdAt = image.createdAt.timeIntervalSince1970
            takenAt = APIDate.string(image.takenAt)
            url = "/images/\(image.id)"
            thumbnailURL = "/images/\(image.id)/thumbnail"
        }
    }

    struct ListBody: Encodable {
        let images: [Item]
        let total: Int
    }

    /// Mounted at `/images`: the reads.
    var endpoints: RouteCollection<AppRequestContext> {
        RouteCollection(context: AppRequestContext.self)
            .get(use: list)
            .get("{id}", use: original)
            .get("{id}/thumbnail", use: thumbnail)
    }

    /// Mounted at `/images`, in the group of write routes (behind the API key).
    var writeEndpoints: RouteCollection<AppRequestContext> {
        RouteCollection(context: AppRequestContext.self).delete("{id}", use: delete)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        var offset = 0
        var limit = 100
        for (name, value) in request.queryItems {
            switch name {
            case "offset": offset = try SearchRoutes.intParameter("offset", value, in: 0...ServerSettings.maxOffset)
            case "limit": limit = try SearchRoutes.intParameter("limit", value, in: 1...ServerSettings.maxListLimit)
            default:
                throw APIError(.badRequest, "unknown_field", "unknown query parameter \"\(name)\"; expected offset, limit")
            }
        }
        let store = try backend.ready().store
        let (pageOffset, pageLimit) = (offset, limit)
        let page = try await offload { try store.list(offset: pageOffset, limit: pageLimit) }
        return Response.json(ListBody(images: page.images.map(Item.init), total: page.total))
    }

    @Sendable func original(_ request: Request, context: AppRequestContext) async throws -> Response {
        let store = try backend.ready().store
        let id = try ImageRoutes.id(context)
        let (image, bytes): (StoredImage, [UInt8]?) = try await offload {
            guard let image = try store.image(id: id) else { throw APIError.notFound("no image with id \(id)") }
            return (image, try store.original(of: image))
        }
        guard let bytes else {
            // No path in the message: a client need not learn where the library lives.
            throw APIError(.notFound, "original_missing", "image \(id) is indexed but its original file is gone or changed")
        }
        return Response.bytes(bytes, contentType: image.mime,
                              headers: [.eTag: "\"\(image.sha256)\"", .cacheControl: "private, max-age=86400"])
    }

    @Sendable func thumbnail(_ request: Request, context: AppRequestContext) async throws -> Response {
        let store = try backend.ready().store
        let id = try ImageRoutes.id(context)
        guard let jpeg = try await offload({ try store.thumbnail(id: id) }) else {
            throw APIError.notFound("no image with id \(id)")
        }
        return Response.bytes(jpeg, contentType: "image/jpeg", headers: [.cacheControl: "private, max-age=86400"])
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let store = try backend.ready().store
        let id = try ImageRoutes.id(context)
        guard try await offload({ try store.delete(id: id) }) else {
            throw APIError.notFound("no image with id \(id)")
        }
        metrics.setIndexSize(store.vectors.count)
        return Response(status: .noContent)
    }

    /// The `{id}` path parameter: a positive integer, else 400 `invalid_field`.
    static func id(_ context: AppRequestContext) throws(APIError) -> Int64 {
        let raw = context.parameters.get("id") ?? ""
        guard let id = try? context.parameters.require("id", as: Int64.self), id > 0 else {
            throw APIError.invalidField("image id must be a positive integer, got \"\(raw)\"")
        }
        return id
    }
}
