import CLIP
import Foundation
import Hummingbird

/// `POST /embed` and `POST /classify`: the model without the index (except `image_id`).
struct ModelRoutes {
    let backend: Backend
    let settings: ServerSettings
    let metrics: ServerMetrics
    let jobs: ImageJobLimiter

    struct EmbedBody: Encodable {
        let textEmbeddings: [[Float]]
        let imageEmbeddings: [[Float]]
        enum CodingKeys: String, CodingKey {
            case textEmbeddings = "text_embeddings"
            case imageEmbeddings = "image_embeddings"
        }
    }

    struct Label: Encodable {
        let label: String
        let probability: Float
    }

    struct ClassifyBody: Encodable {
        let labels: [Label]
    }

    /// Mounted at the root: `/embed` and `/classify`.
    var endpoints: RouteCollection<AppRequestContext> {
        RouteCollection(context: AppRequestContext.self)
            .post("embed", use: embed)
            .post("classify", use: classify)
    }

    @Sendable func embed(_ request: Request, context: AppRequestContext) async throws -> Response {
        var reader = try JSONObjectReader(bytes: try await request.collectJSONBody(limit: settings.maxBodyBytes))
        let texts = try reader.strings("texts") ?? []
        let images = try reader.strings("images") ?? []
        try reader.finish()
        guard !texts.isEmpty || !images.isEmpty else {
            throw APIError.invalidField("give at least one of \"texts\" or \"images\"")
        }
        let (textVectors, imageVectors) = try await App.embed(
            texts: texts, base64Images: images, textField: "texts", imageField: "images", backend: backend,
            settings: settings, metrics: metrics, jobs: jobs)
        return Response.json(EmbedBody(textEmbeddings: textVectors, imageEmbeddings: imageVectors))
    }

    @Sendable func classify(_ request: Request, context: AppRequestContext) async throws -> Response {
        var reader = try JSONObjectReader(bytes: try await request.collectJSONBody(limit: settings.maxBodyBytes))
        let image = try reader.string("image")
        let imageID = try reader.int("image_id", in: 1...ServerSettings.maxJSONInteger)
        let labels = try reader.strings("labels")
        try reader.finish()
        guard (image != nil) != (imageID != nil) else {
            throw APIError(.badRequest, "invalid_query", "give exactly one of \"image\" or \"image_id\"")
        }
        guard let labels, !labels.isEmpty else { throw APIError.invalidField("\"labels\" must be a non-empty array of strings") }
        guard labels.count <= ServerSettings.maxLabels else {
            throw APIError.invalidField("\"labels\" holds \(labels.count) labels; at most \(ServerSettings.maxLabels)")
        }
        try checkTextLengths(labels, field: "labels")
        let loaded = try backend.ready()
        var query = SearchRoutes.Query()
        if let image { query.image = try decodeBase64(image, field: "image") }
        query.imageID = imageID.map(Int64.init)
        let imageVector = try await SearchRoutes.embedding(of: query, loaded: loaded, settings: settings, metrics: metrics, jobs: jobs)
        let labelVectors = await encodeTexts(labels, loaded: loaded, metrics: metrics)
        let probabilities = ModelRoutes.zeroShot(image: imageVector, labels: labelVectors, logitScale: loaded.encoder.logitScale)
        let ranked = zip(labels, probabilities).map { Label(label: $0, probability: $1) }
            .enumerated().sorted { ($0.element.probability, -$0.offset) > ($1.element.probability, -$1.offset) }
            .map(\.element)
        return Response.json(ClassifyBody(labels: ranked))
    }

    /// CLIP zero-shot: softmax over `logitScale * cosine(image, label)` (both unit vectors).
    static func zeroShot(image: [Float], labels: [[Float]], logitScale: Float) -> [Float] {
        let logits = labels.map { label in logitScale * zip(image, label).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
        let maxLogit = logits.max() ?? 0
        let exps = logits.map { Foundation.exp($0 - maxLogit) }
        let sum = exps.reduce(0, +)
        return exps.map { $0 / sum }
    }
}
