import Foundation
import Hummingbird
import SearchIndex

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
        let url: String
        let thumbnailURL: String
        enum CodingKeys: String, CodingKey {
            case id, sha256, source, mime, width, height, url
            case byteSize = "byte_size"
            case createdAt = "created_at"
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
            url = "/images/\(image.id)"
            thumbnailURL = "/images/\(image.id)/thumbnail"
        }
    }

    struct ListBody: Encodable {
        let images: [Item]
        let total: Int
    }

    func register(on router: Router<AppRequestContext>) {
        router.get("/images") { request, _ in
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
            let index = try backend.ready().index
            let (pageOffset, pageLimit) = (offset, limit)
            let page = try await offload { try index.list(offset: pageOffset, limit: pageLimit) }
            return Response.json(ListBody(images: page.images.map(Item.init), total: page.total))
        }

        router.get("/images/{id}") { request, context in
            let index = try backend.ready().index
            let id = try ImageRoutes.id(context)
            let (image, data): (StoredImage, Data?) = try await offload {
                guard let image = try index.image(id: id) else { throw APIError.notFound("no image with id \(id)") }
                return (image, FileManager.default.contents(atPath: index.originalURL(of: image).path))
            }
            guard let data else {
                throw APIError(.notFound, "original_missing", "image \(id) is indexed but its original file \(image.source) is gone")
            }
            return Response.bytes([UInt8](data), contentType: image.mime,
                                  headers: [.eTag: "\"\(image.sha256)\"", .cacheControl: "private, max-age=86400"])
        }

        router.get("/images/{id}/thumbnail") { request, context in
            let index = try backend.ready().index
            let id = try ImageRoutes.id(context)
            guard let jpeg = try await offload({ try index.thumbnail(id: id) }) else {
                throw APIError.notFound("no image with id \(id)")
            }
            return Response.bytes(jpeg, contentType: "image/jpeg", headers: [.cacheControl: "private, max-age=86400"])
        }

        router.delete("/images/{id}") { request, context in
            try APIKey.check(request, settings: settings)
            let index = try backend.ready().index
            let id = try ImageRoutes.id(context)
            guard try await offload({ try index.delete(id: id) }) else {
                throw APIError.notFound("no image with id \(id)")
            }
            metrics.setIndexSize(index.count)
            return Response(status: .noContent)
        }
    }

    static func id(_ context: AppRequestContext) throws(APIError) -> Int64 {
        let raw = context.parameters.get("id") ?? ""
        guard let id = Int64(raw), id > 0 else {
            throw APIError.invalidField("image id must be a positive integer, got \"\(raw)\"")
        }
        return id
    }
}
