import CLIP
import Foundation
import Hummingbird
import LibraryStore
import NeuralOps
import SearchIndex

/// `POST /search` (JSON body) and `GET /search?q=` (the same query from a URL).
struct SearchRoutes {
    let backend: Backend
    let settings: ServerSettings
    let metrics: ServerMetrics
    let jobs: ImageJobLimiter

    struct Result: Encodable {
        let id: Int64
        let score: Float
        let source: String
        let width: Int
        let height: Int
        let takenAt: String
        /// With `hybrid`: the reciprocal-rank-fusion score the results are ordered by.
        let fusedScore: Double?
        let url: String
        let thumbnailURL: String
        enum CodingKeys: String, CodingKey {
            case id, score, source, width, height, url
            case takenAt = "taken_at"
            case fusedScore = "fused_score"
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

    // MARK: - Running

    func run(_ query: Query) async throws -> Response {
        let start = ContinuousClock.now
        let loaded = try backend.ready()
        let queryVector = try await SearchRoutes.embedding(of: query, loaded: loaded, settings: settings, metrics: metrics, jobs: jobs)
        let store = loaded.store
        let (k, offset, minScore, filter) = (query.k, query.offset, query.minScore, query.filter)
        let words = query.hybrid ? query.words : []
        let found = try await offload {
            // hybrid without words (an image query) is the plain search.
            words.isEmpty
                ? try store.search(queryVector, k: k, offset: offset, minScore: minScore, filter: filter)
                : try store.hybridSearch(queryVector, words: words, k: k, offset: offset, minScore: minScore, filter: filter)
        }
        // autocut trims the page it is given (after k, offset and min_score), on the scores it is
        // ordered by (the fused ones in a hybrid search); total counts before it.
        let scores = found.hits.map { $0.fusedScore.map(Float.init) ?? $0.score }
        let kept = query.autocut.map { Autocut.keptCount(scores: scores, jumps: $0) } ?? found.hits.count
        var hits = Array(found.hits.prefix(kept))
        switch query.sort {
        case .relevance: break
        // Stable for equal dates: the better score first.
        case .dateDesc: hits = hits.enumerated().sorted { ($0.1.image.takenAt, $1.0) > ($1.1.image.takenAt, $0.0) }.map(\.1)
        case .dateAsc: hits = hits.enumerated().sorted { ($0.1.image.takenAt, $0.0) < ($1.1.image.takenAt, $1.0) }.map(\.1)
        }
        let results = hits.map { hit in
            Result(id: hit.image.id, score: hit.score, source: hit.image.source, width: hit.image.width,
                   height: hit.image.height, takenAt: APIDate.string(hit.image.takenAt), fusedScore: hit.fusedScore,
                   url: "/images/\(hit.image.id)", thumbnailURL: "/images/\(hit.image.id)/thumbnail")
        }
        return .json(Body(results: results, total: found.total, tookMS: (ContinuousClock.now - start).milliseconds))
    }

    /// The unit query vector: the sum of each part's unit vector (the text's, the image's or the
    /// stored image's embedding) times its weight, minus each `negative` text's, renormalized. A
    /// single `text`, `image` or `image_id` is one part of weight 1.
    static func embedding(of query: Query, loaded: Backend.Loaded, settings: ServerSettings, metrics: ServerMetrics,
                          jobs: ImageJobLimiter) async throws -> [Float] {
        let parts = query.parts.isEmpty ? [Part(text: query.text, image: query.image, imageID: query.imageID)] : query.parts
        let encoder = loaded.encoder
        var vector = [Float](repeating: 0, count: encoder.dimension)
        func add(_ unit: [Float], _ weight: Float) {
            for i in vector.indices { vector[i] += weight * unit[i] }
        }
        for (i, part) in parts.enumerated() {
            if let text = part.text {
                add(await encodeTexts([text], loaded: loaded, metrics: metrics)[0], part.weight)
            } else if let bytes = part.image {
                let name = query.parts.isEmpty ? "image" : "queries[\(i)].image"
                add(try await encodeImage(bytes, name: name, loaded: loaded, settings: settings, metrics: metrics, jobs: jobs), part.weight)
            } else if let id = part.imageID {
                guard let stored = loaded.store.vectors.vector(of: id) else { throw APIError.notFound("no image with id \(id)") }
                add(stored, part.weight)
            }
        }
        if parts.count == 1 && query.negative.isEmpty && parts[0].weight == 1 { return vector }
        if !query.negative.isEmpty {
            for negative in await encodeTexts(query.negative, loaded: loaded, metrics: metrics) { add(negative, -1) }
        }
        // A norm this small is rounding noise, not a direction.
        guard vector.reduce(Float(0), { $0 + $1 * $1 }) > 1e-12, let unit = l2Normalized(vector) else {
            throw APIError(.badRequest, "invalid_query", "the weighted query (with its negative texts) is the zero vector")
        }
        return unit
    }
}
