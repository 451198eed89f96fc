import CLIP
import Hummingbird

/// The inference container of Weaviate's multi2vec-clip module: `POST /vectorize`
/// `{"texts":[...],"images":[base64...]}` → `{"textVectors","imageVectors"}`, `GET /meta`, and the
/// probes `GET /.well-known/live` and `/.well-known/ready` (204). Shapes follow
/// weaviate/multi2vec-clip-inference `app.py` (and `clip.py`'s `ClipInput`); errors are
/// `{"error": "..."}` as that app answers them, with our status.
struct WeaviateRoutes {
    let backend: Backend
    let settings: ServerSettings
    let metrics: ServerMetrics
    let jobs: ImageJobLimiter

    struct VectorizeBody: Encodable {
        let textVectors: [[Float]]
        let imageVectors: [[Float]]
    }

    struct Meta: Encodable {
        struct Model: Encodable {
            let name: String
            let family: String?
            let dimension: Int
            let imageSize: Int
            let contextLength: Int
            enum CodingKeys: String, CodingKey {
                case name, family, dimension
                case imageSize = "image_size"
                case contextLength = "context_length"
            }
        }
        let clipModel: Model
        enum CodingKeys: String, CodingKey { case clipModel = "clip_model" }
    }

    /// `/vectorize` and `/meta`, mounted at the root behind `ClientErrorStyle(.errorString)`.
    var endpoints: RouteCollection<AppRequestContext> {
        RouteCollection(context: AppRequestContext.self)
            .add(middleware: ClientErrorStyle(shape: .errorString))
            .post("vectorize", use: vectorize)
            .get("meta", use: meta)
            .get(".well-known/live", use: live)
            .get(".well-known/ready", use: ready)
    }

    @Sendable func vectorize(_ request: Request, context: AppRequestContext) async throws -> Response {
        var reader = try JSONObjectReader(bytes: try await request.collectJSONBody(limit: settings.maxBodyBytes))
        let texts = try reader.strings("texts") ?? []
        let images = try reader.strings("images") ?? []
        try reader.finish()
        let (textVectors, imageVectors) = try await embed(
            texts: texts, base64Images: images, textField: "texts", imageField: "images", backend: backend,
            settings: settings, metrics: metrics, jobs: jobs)
        return .json(VectorizeBody(textVectors: textVectors, imageVectors: imageVectors))
    }

    @Sendable func meta(_ request: Request, context: AppRequestContext) async throws -> Response {
        let encoder = try backend.ready().encoder
        let names = ModelNames(encoder: encoder)
        return .json(Meta(clipModel: .init(name: names.name, family: names.family, dimension: encoder.dimension,
                                           imageSize: encoder.model.config.imageSize,
                                           contextLength: encoder.model.config.text.maxPositionEmbeddings)))
    }

    @Sendable func live(_ request: Request, context: AppRequestContext) async throws -> Response {
        Response(status: .noContent)
    }

    /// 204 once the model and the library are loaded, 503 before.
    @Sendable func ready(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try backend.ready()
        return Response(status: .noContent)
    }
}
