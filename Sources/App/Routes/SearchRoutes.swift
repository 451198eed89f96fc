import CLIP
import Foundation
import Hummingbird
import LibraryStore
import NeuralOps

/// `POST /search` (JSON body) and `GET /search?q=` (the same query from a URL).
struct SearchRoutes {
    let backend: Backend
    let settings: ServerSettings
    let metrics: ServerMetrics
    let jobs: ImageJobLimiter

    /// A parsed query: exactly one of `text`, `image` bytes, `imageID`.
    struct Query {
        var text: String?
        var image: [UInt8]?
        var imageID: Int64?
        var negative: [String] = []
        var k = 10
        var offset = 0
        var minScore: Float?
    }

    struct Result: Encodable {
        let id: Int64
        let score: Float
        let source: String
        let width: Int
        let height: Int
        let url: String
        let thumbnailURL: String
        enum CodingKeys: String, CodingKey {
            case id, score, source, width, height, url
            case thumbnailURL = "thumbnail_url"
        }
    }

    struct Body: Encodable {
        let results: [Result]
        let total: Int
        let tookMS: Double
        enum CodingKeys: String, CodingKey {
            case results, total
            case tookMS = "took_ms"
        }
    }

    /// Mounted at `/search`.
    var endpoints: RouteCollection<AppRequestContext> {
        RouteCollection(context: AppRequestContext.self)
            .post(use: searchJSON)
            .get(use: searchURL)
    }

    @Sendable func searchJSON(_ request: Request, context: AppRequestContext) async throws -> Response {
        let bytes = try await request.collectJSONBody(limit: settings.maxBodyBytes)
        return try await run(try SearchRoutes.parse(json: bytes))
    }

    @Sendable func searchURL(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await run(try SearchRoutes.parse(queryItems: request.queryItems))
    }

    // MARK: - Parsing

    static func parse(json bytes: [UInt8]) throws(APIError) -> Query {
        var reader = try JSONObjectReader(bytes: bytes)
        var query = Query()
        query.text = try reader.string("text")
        if let base64 = try reader.string("image") {
            query.image = try decodeBase64(base64, field: "image")
        }
        if let id = try reader.int("image_id", in: 1...Int.max) { query.imageID = Int64(id) }
        query.negative = try reader.strings("negative") ?? []
        query.k = try reader.int("k", in: 1...ServerSettings.maxK) ?? 10
        query.offset = try reader.int("offset", in: 0...ServerSettings.maxOffset) ?? 0
        query.minScore = try reader.double("min_score").map(Float.init)
        try reader.finish()
        try validate(query)
        return query
    }

    static func parse(queryItems: [(name: String, value: String)]) throws(APIError) -> Query {
        var query = Query()
        for (name, value) in queryItems {
            switch name {
            case "q", "text": query.text = value
            case "image_id":
                guard let id = Int64(value), id > 0 else { throw APIError.invalidField("\"image_id\" must be a positive integer, got \"\(value)\"") }
                query.imageID = id
            case "negative": query.negative.append(value)
            case "k": query.k = try intParameter("k", value, in: 1...ServerSettings.maxK)
            case "offset": query.offset = try intParameter("offset", value, in: 0...ServerSettings.maxOffset)
            case "min_score":
                guard let score = Float(value), score.isFinite else { throw APIError.invalidField("\"min_score\" must be a number, got \"\(value)\"") }
                query.minScore = score
            default:
                throw APIError(.badRequest, "unknown_field", "unknown query parameter \"\(name)\"; expected q, image_id, negative, k, offset, min_score")
            }
        }
        try validate(query)
        return query
    }

    static func intParameter(_ name: String, _ value: String, in range: ClosedRange<Int>) throws(APIError) -> Int {
        guard let int = Int(value) else { throw APIError.invalidField("\"\(name)\" must be an integer, got \"\(value)\"") }
        guard range.contains(int) else {
            throw APIError.invalidField("\"\(name)\" must be between \(range.lowerBound) and \(range.upperBound), got \(int)")
        }
        return int
    }

    private static func validate(_ query: Query) throws(APIError) {
        let given = [query.text != nil, query.image != nil, query.imageID != nil].filter { $0 }.count
        guard given == 1 else {
            throw APIError(.badRequest, "invalid_query", given == 0
                ? "give exactly one of \"text\" (q), \"image\" or \"image_id\"; none was given"
                : "give exactly one of \"text\" (q), \"image\" or \"image_id\"; \(given) were given")
        }
        guard query.negative.count <= ServerSettings.maxTexts else {
            throw APIError.invalidField("\"negative\" holds \(query.negative.count) texts; at most \(ServerSettings.maxTexts)")
        }
        try checkTextLengths(query.text.map { [$0] } ?? [], field: "text")
        try checkTextLengths(query.negative, field: "negative")
    }

    // MARK: - Running

    func run(_ query: Query) async throws -> Response {
        let start = ContinuousClock.now
        let loaded = try backend.ready()
        let queryVector = try await SearchRoutes.embedding(of: query, loaded: loaded, settings: settings, metrics: metrics, jobs: jobs)
        let store = loaded.store
        let (k, offset, minScore) = (query.k, query.offset, query.minScore)
        let found = try await offload { try store.search(queryVector, k: k, offset: offset, minScore: minScore) }
        let results = found.hits.map { hit in
            Result(id: hit.image.id, score: hit.score, source: hit.image.source, width: hit.image.width,
                   height: hit.image.height, url: "/images/\(hit.image.id)", thumbnailURL: "/images/\(hit.image.id)/thumbnail")
        }
        return .json(Body(results: results, total: found.total, tookMS: (ContinuousClock.now - start).milliseconds))
    }

    /// The unit query vector: the text's, the image's or the stored image's embedding, minus the
    /// `negative` texts' embeddings, renormalized.
    static func embedding(of query: Query, loaded: Backend.Loaded, settings: ServerSettings, metrics: ServerMetrics,
                          jobs: ImageJobLimiter) async throws -> [Float] {
        let encoder = loaded.encoder
        var vector: [Float]
        if let text = query.text {
            vector = try await encodeTexts([text], encoder: encoder, metrics: metrics)[0]
        } else if let bytes = query.image {
            vector = try await encodeImage(bytes, name: "image", encoder: encoder, settings: settings, metrics: metrics, jobs: jobs)
        } else if let id = query.imageID {
            guard let stored = loaded.store.vectors.vector(of: id) else {
                throw APIError.notFound("no image with id \(id)")
            }
            vector = stored
        } else {
            throw APIError(.badRequest, "invalid_query", "no query given")
        }
        guard !query.negative.isEmpty else { return vector }
        for negative in try await encodeTexts(query.negative, encoder: encoder, metrics: metrics) {
            for i in vector.indices { vector[i] -= negative[i] }
        }
        // A norm this small is rounding noise, not a direction.
        guard vector.reduce(Float(0), { $0 + $1 * $1 }) > 1e-12, let unit = l2Normalized(vector) else {
            throw APIError(.badRequest, "invalid_query", "the query minus its negative texts is the zero vector")
        }
        return unit
    }
}
