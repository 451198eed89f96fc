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

    /// A parsed query: exactly one of `text`, `image` bytes, `imageID`, `parts` (`queries`).
    struct Query {
        var text: String?
        var image: [UInt8]?
        var imageID: Int64?
        var parts: [Part] = []
        var negative: [String] = []
        var k = 10
        var offset = 0
        var minScore: Float?
        var autocut: Int?
    }

    /// One weighted part of `queries`: exactly one of its text, image or stored image.
    struct Part {
        var text: String?
        var image: [UInt8]?
        var imageID: Int64?
        var weight: Float = 1
    }

    static let maxQueryParts = 16
    static let autocutRange = 1...10

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
        if let id = try reader.int("image_id", in: 1...ServerSettings.maxJSONInteger) { query.imageID = Int64(id) }
        query.negative = try reader.strings("negative") ?? []
        query.k = try reader.int("k", in: 1...ServerSettings.maxK) ?? 10
        query.offset = try reader.int("offset", in: 0...ServerSettings.maxOffset) ?? 0
        query.minScore = try reader.double("min_score").map(Float.init)
        query.autocut = try reader.int("autocut", in: autocutRange)
        if let parts = try reader.objects("queries") {
            guard (1...maxQueryParts).contains(parts.count) else {
                throw APIError.invalidField("\"queries\" holds \(parts.count) parts; 1 to \(maxQueryParts)")
            }
            query.parts = try parts.enumerated().map { i, part throws(APIError) in try parsePart(part, index: i) }
        }
        try reader.finish()
        try validate(query)
        return query
    }

    private static func parsePart(_ reader: JSONObjectReader, index: Int) throws(APIError) -> Part {
        var reader = reader
        var part = Part()
        part.text = try reader.string("text")
        if let base64 = try reader.string("image") { part.image = try decodeBase64(base64, field: "queries[\(index)].image") }
        part.imageID = try reader.int("image_id", in: 1...ServerSettings.maxJSONInteger).map(Int64.init)
        if let weight = try reader.double("weight") {
            guard abs(weight) <= 100 else { throw APIError.invalidField("\"queries[\(index)].weight\" must be between -100 and 100") }
            part.weight = Float(weight)
        }
        try reader.finish()
        let given = [part.text != nil, part.image != nil, part.imageID != nil].filter { $0 }.count
        guard given == 1 else {
            throw APIError(.badRequest, "invalid_query", "queries[\(index)] must give exactly one of \"text\", \"image\" or \"image_id\"")
        }
        try checkTextLengths(part.text.map { [$0] } ?? [], field: "queries[\(index)].text")
        return part
    }

    static func parse(queryItems: [(name: String, value: String)]) throws(APIError) -> Query {
        var query = Query()
        for (name, value) in queryItems {
            switch name {
            case "q", "text":
                guard query.text == nil else { throw APIError(.badRequest, "invalid_query", "give the text once, as \"q\" or \"text\"") }
                query.text = value
            case "image_id":
                guard let id = Int64(value), id > 0 else { throw APIError.invalidField("\"image_id\" must be a positive integer, got \"\(value)\"") }
                query.imageID = id
            case "negative": query.negative.append(value)
            case "k": query.k = try intParameter("k", value, in: 1...ServerSettings.maxK)
            case "offset": query.offset = try intParameter("offset", value, in: 0...ServerSettings.maxOffset)
            case "min_score":
                // Any finite number, as in the JSON body (beyond Float's range it rounds to ±infinity).
                guard let score = Double(value), score.isFinite else { throw APIError.invalidField("\"min_score\" must be a number, got \"\(value)\"") }
                query.minScore = Float(score)
            case "autocut": query.autocut = try intParameter("autocut", value, in: autocutRange)
            default:
                throw APIError(.badRequest, "unknown_field", "unknown query parameter \"\(name)\"; expected q, image_id, negative, k, offset, min_score, autocut")
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
        let given = [query.text != nil, query.image != nil, query.imageID != nil, !query.parts.isEmpty].filter { $0 }.count
        guard given == 1 else {
            throw APIError(.badRequest, "invalid_query", given == 0
                ? "give exactly one of \"text\" (q), \"image\", \"image_id\" or \"queries\"; none was given"
                : "give exactly one of \"text\" (q), \"image\", \"image_id\" or \"queries\"; \(given) were given")
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
        // autocut trims the page it is given (after k, offset and min_score); total counts before it.
        let kept = query.autocut.map { Autocut.keptCount(scores: found.hits.map(\.score), jumps: $0) } ?? found.hits.count
        let results = found.hits.prefix(kept).map { hit in
            Result(id: hit.image.id, score: hit.score, source: hit.image.source, width: hit.image.width,
                   height: hit.image.height, url: "/images/\(hit.image.id)", thumbnailURL: "/images/\(hit.image.id)/thumbnail")
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
                add(try await encodeTexts([text], encoder: encoder, metrics: metrics)[0], part.weight)
            } else if let bytes = part.image {
                let name = query.parts.isEmpty ? "image" : "queries[\(i)].image"
                add(try await encodeImage(bytes, name: name, encoder: encoder, settings: settings, metrics: metrics, jobs: jobs), part.weight)
            } else if let id = part.imageID {
                guard let stored = loaded.store.vectors.vector(of: id) else { throw APIError.notFound("no image with id \(id)") }
                add(stored, part.weight)
            }
        }
        if parts.count == 1 && query.negative.isEmpty && parts[0].weight == 1 { return vector }
        if !query.negative.isEmpty {
            for negative in try await encodeTexts(query.negative, encoder: encoder, metrics: metrics) { add(negative, -1) }
        }
        // A norm this small is rounding noise, not a direction.
        guard vector.reduce(Float(0), { $0 + $1 * $1 }) > 1e-12, let unit = l2Normalized(vector) else {
            throw APIError(.badRequest, "invalid_query", "the weighted query (with its negative texts) is the zero vector")
        }
        return unit
    }
}
