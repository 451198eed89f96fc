import CLIP
import Foundation
import Hummingbird
import LibraryStore

/// clip-retrieval's back end, so its `ClipClient` and clip-front search this library:
/// `POST /knn-service`, `POST /metadata`, `GET /indices-list`. Shapes follow rom1504/clip-retrieval
/// `clip_retrieval/clip_back.py` (`KnnService.post`/`query`/`map_to_metadata`, `MetadataService`,
/// `IndicesList`) and `clip_retrieval/clip_client.py` (what `ClipClient` posts: JSON without a
/// Content-Type, `null` for the inputs it does not use). The one index is named after the model.
/// Errors keep our envelope (the Flask back end has no error shape of its own).
struct ClipRetrievalRoutes {
    let backend: Backend
    let settings: ServerSettings
    let metrics: ServerMetrics
    let jobs: ImageJobLimiter

    /// One result as `map_to_metadata` builds it: the metadata columns, `id` and `similarity`.
    struct Result: Encodable {
        let id: Int64
        let similarity: Float
        let url: String
        let caption: String
        let imagePath: String
        enum CodingKeys: String, CodingKey {
            case id, similarity, url, caption
            case imagePath = "image_path"
        }
    }

    struct Metadata: Encodable {
        struct Columns: Encodable {
            let url: String
            let caption: String
            let imagePath: String
            enum CodingKeys: String, CodingKey {
                case url, caption
                case imagePath = "image_path"
            }
        }
        let id: Int64
        let metadata: Columns
    }

    /// Mounted at the root.
    var endpoints: RouteCollection<AppRequestContext> {
        RouteCollection(context: AppRequestContext.self)
            .post("knn-service", use: knn)
            .post("metadata", use: metadata)
            .get("indices-list", use: indices)
    }

    @Sendable func indices(_ request: Request, context: AppRequestContext) async throws -> Response {
        .json([try backend.ready().encoder.name])
    }

    @Sendable func knn(_ request: Request, context: AppRequestContext) async throws -> Response {
        var reader = try JSONObjectReader(bytes: try await request.collectJSONBodyAllowingNoContentType(limit: settings.maxBodyBytes))
        // clip-front sends "" for an input it does not use, ClipClient null: both mean absent.
        let text = try reader.string("text").flatMap { $0.isEmpty ? nil : $0 }
        let image = try reader.string("image").flatMap { $0.isEmpty ? nil : $0 }
        let imageURL = try reader.string("image_url").flatMap { $0.isEmpty ? nil : $0 }
        let embedding = try reader.numbers("embedding_input")
        let modality = try reader.string("modality") ?? "image"
        let k = try reader.int("num_images", in: 1...ServerSettings.maxK) ?? 40
        _ = try reader.int("num_result_ids", in: 1...ServerSettings.maxJSONInteger)
        let indexName = try reader.string("indice_name")
        // Flags that filter or re-rank LAION's indices; they mean nothing for one's own photos.
        for flag in ["deduplicate", "use_safety_model", "use_violence_detector", "use_mclip"] { _ = try reader.bool(flag) }
        for name in ["aesthetic_score", "aesthetic_weight"] {
            switch reader.value(name) {
            case nil, .number?, .string?: break
            case let other?: throw reader.wrongType(name, "a number or a string", other)
            }
        }
        try reader.finish()

        let given = [text != nil, image != nil, imageURL != nil, embedding != nil].filter { $0 }.count
        guard given == 1 else {
            throw APIError(.badRequest, "invalid_query",
                           "give exactly one of \"text\", \"image\", \"image_url\" or \"embedding_input\"; \(given) were given")
        }
        guard imageURL == nil else {
            throw APIError(.badRequest, "url_not_fetched",
                           "\"image_url\" is not fetched: this server does not download images; send the image as base64 in \"image\"")
        }
        guard modality == "image" else {
            throw APIError.invalidField("\"modality\" must be \"image\": this server indexes image embeddings only (no caption index), got \"\(modality.prefix(50))\"")
        }
        let loaded = try backend.ready()
        try ClipRetrievalRoutes.checkIndex(indexName, loaded: loaded)
        try checkTextLengths(text.map { [$0] } ?? [], field: "text")

        let queryVector: [Float]
        if let embedding {
            // Nothing is near the zero vector (clip-retrieval would score every image 0).
            guard let unit = try ClipRetrievalRoutes.unit(embedding, dimension: loaded.encoder.dimension) else { return .json([Result]()) }
            queryVector = unit
        } else {
            var query = SearchRoutes.Query()
            query.text = text
            query.image = try image.map { base64 throws(APIError) in try decodeBase64(base64, field: "image") }
            queryVector = try await SearchRoutes.embedding(of: query, loaded: loaded, settings: settings, metrics: metrics, jobs: jobs)
        }
        let store = loaded.store
        let found = try await offload { try store.search(queryVector, k: k) }
        let base = ClipRetrievalRoutes.baseURL(request)
        return .json(found.hits.map { hit in
            Result(id: hit.image.id, similarity: hit.score, url: "\(base)/images/\(hit.image.id)",
                   caption: ClipRetrievalRoutes.caption(hit.image.source), imagePath: hit.image.source)
        })
    }

    @Sendable func metadata(_ request: Request, context: AppRequestContext) async throws -> Response {
        var reader = try JSONObjectReader(bytes: try await request.collectJSONBodyAllowingNoContentType(limit: settings.maxBodyBytes))
        let ids = try reader.numbers("ids")
        let indexName = try reader.string("indice_name")
        try reader.finish()
        guard let ids else { throw APIError.invalidField("\"ids\" is required: an array of image ids") }
        var wanted: [Int64] = []
        for (i, id) in ids.enumerated() {
            guard id.rounded() == id, id >= 1, id <= Double(ServerSettings.maxJSONInteger), let int = Int64(exactly: id) else {
                throw APIError.invalidField("\"ids[\(i)]\" must be an integer from 1 to \(ServerSettings.maxJSONInteger), got \(JSONObjectReader.format(id))")
            }
            wanted.append(int)
        }
        let loaded = try backend.ready()
        try ClipRetrievalRoutes.checkIndex(indexName, loaded: loaded)
        let (store, known) = (loaded.store, wanted)
        let rows = try await offload { try store.images(ids: known) }
        let base = ClipRetrievalRoutes.baseURL(request)
        // Ids not in the library are left out (the Flask back end fails on them).
        return .json(wanted.compactMap { id in
            rows[id].map { image in
                Metadata(id: id, metadata: .init(url: "\(base)/images/\(id)", caption: caption(image.source), imagePath: image.source))
            }
        })
    }

    private func caption(_ source: String) -> String { ClipRetrievalRoutes.caption(source) }

    /// The index a request names must be this one (`GET /indices-list`); none means this one.
    static func checkIndex(_ name: String?, loaded: Backend.Loaded) throws(APIError) {
        guard let name, name != loaded.encoder.name else { return }
        throw APIError(.notFound, "not_found", "no index \"\(name.prefix(100))\"; this server has one, \"\(loaded.encoder.name)\" (GET /indices-list)")
    }

    /// A file's name without folders or extension, the nearest thing to a caption a photo has.
    static func caption(_ source: String) -> String {
        let file = source.split(separator: "/").last.map(String.init) ?? source
        let stem = (file as NSString).deletingPathExtension
        return stem.isEmpty ? file : stem
    }

    /// `http://HOST` from the request's Host (HostGuard has checked it), so that `url` can be
    /// fetched by a client elsewhere; empty (relative URLs) without one.
    static func baseURL(_ request: Request) -> String {
        request.head.authority.map { "http://\($0)" } ?? ""
    }

    /// `embedding_input` as a unit vector of the model's length (scaled by its largest entry
    /// first, so any finite numbers normalize); nil for the zero vector, which has no direction.
    static func unit(_ values: [Double], dimension: Int) throws(APIError) -> [Float]? {
        guard values.count == dimension else {
            throw APIError.invalidField("\"embedding_input\" holds \(values.count) numbers; the model's embeddings have \(dimension)")
        }
        let largest = values.map(abs).max() ?? 0
        guard largest > 0 else { return nil }
        let scaled = values.map { $0 / largest }
        let norm = scaled.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return scaled.map { Float($0 / norm) }
    }
}
