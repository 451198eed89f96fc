import CLIP
import Foundation
import Hummingbird

/// The OpenAI embeddings API as infinity serves CLIP models: `POST /v1/embeddings` with `modality`
/// `"text"` (default) or `"image"` (data URIs or bare base64), `GET /v1/models`. Shapes follow
/// infinity's `libs/infinity_emb/infinity_emb/fastapi_schemas/pymodels.py` (OpenAIEmbeddingInput,
/// OpenAIEmbeddingResult, ModelInfo) and the `openai` Python package's `types/create_embedding_response.py`.
/// Errors keep our envelope: `error.message` is what the `openai` client reads.
struct OpenAIRoutes {
    let backend: Backend
    let settings: ServerSettings
    let metrics: ServerMetrics
    let jobs: ImageJobLimiter
    /// `created` of the listed model: when the server started.
    let created = Int(Date().timeIntervalSince1970)

    struct Embedding: Encodable {
        let object = "embedding"
        let index: Int
        let embedding: Vector

        /// Floats, or their little-endian float32 bytes in base64 (`encoding_format: "base64"`).
        enum Vector: Encodable {
            case floats([Float])
            case base64(String)
            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                switch self {
                case .floats(let floats): try container.encode(floats)
                case .base64(let string): try container.encode(string)
                }
            }
        }
    }

    struct Usage: Encodable {
        let promptTokens: Int
        let totalTokens: Int
        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case totalTokens = "total_tokens"
        }
    }

    struct EmbeddingsBody: Encodable {
        let object = "list"
        let data: [Embedding]
        let model: String
        let usage: Usage
    }

    struct Model: Encodable {
        let id: String
        let object = "model"
        let created: Int
        let ownedBy = "clip-server"
        enum CodingKeys: String, CodingKey {
            case id, object, created
            case ownedBy = "owned_by"
        }
    }

    struct ModelList: Encodable {
        let object = "list"
        let data: [Model]
    }

    /// Mounted at `/v1`.
    var endpoints: RouteCollection<AppRequestContext> {
        RouteCollection(context: AppRequestContext.self)
            .post("embeddings", use: embeddings)
            .get("models", use: models)
    }

    enum Modality: String { case text, image }

    @Sendable func embeddings(_ request: Request, context: AppRequestContext) async throws -> Response {
        var reader = try JSONObjectReader(bytes: try await request.collectJSONBody(limit: settings.maxBodyBytes))
        let inputs: [String]
        switch reader.value("input") {
        case .string(let text): inputs = [text]
        case .array: inputs = try reader.strings("input") ?? []
        case let other?: throw reader.wrongType("input", "a string or an array of strings", other)
        case nil: throw APIError.invalidField("\"input\" is required: a string or an array of strings")
        }
        let model = try reader.string("model")
        let format = try reader.string("encoding_format") ?? "float"
        let modalityName = try reader.string("modality") ?? "text"
        let dimensions = try reader.int("dimensions", in: 1...ServerSettings.maxJSONInteger)
        _ = try reader.string("user")
        try reader.finish()

        guard format == "float" || format == "base64" else {
            throw APIError.invalidField("\"encoding_format\" must be \"float\" or \"base64\", got \"\(format.prefix(100))\"")
        }
        guard let modality = Modality(rawValue: modalityName) else {
            throw APIError.invalidField("\"modality\" must be \"text\" or \"image\", got \"\(modalityName.prefix(100))\"")
        }
        let limit = modality == .text ? ServerSettings.maxTexts : ServerSettings.maxImages
        guard (1...limit).contains(inputs.count) else {
            throw APIError.invalidField("\"input\" holds \(inputs.count) \(modality.rawValue)s; 1 to \(limit) per request")
        }
        let loaded = try backend.ready()
        let names = ModelNames(encoder: loaded.encoder)
        if let model, !names.accepts(model) {
            throw APIError(.notFound, "model_not_found",
                           "model \"\(model.prefix(100))\" is not served here; this server runs \(names.listed.map { "\"\($0)\"" }.joined(separator: " or "))")
        }
        if let dimensions, dimensions != loaded.encoder.dimension {
            throw APIError.invalidField("\"dimensions\" must be \(loaded.encoder.dimension) (the model's embedding length), got \(dimensions)")
        }

        let vectors: [[Float]]
        var tokens = 0
        switch modality {
        case .text:
            try checkTextLengths(inputs, field: "input")
            vectors = await encodeTexts(inputs, loaded: loaded, metrics: metrics)
            tokens = inputs.reduce(0) { $0 + loaded.encoder.tokenizer.tokenize($1).count }
        case .image:
            var images: [[UInt8]] = []
            for (i, input) in inputs.enumerated() { images.append(try OpenAIRoutes.imageBytes(input, field: "input[\(i)]")) }
            var encoded: [[Float]] = []
            for (i, bytes) in images.enumerated() {
                encoded.append(try await encodeImage(bytes, name: "input[\(i)]", loaded: loaded, settings: settings,
                                                     metrics: metrics, jobs: jobs))
            }
            vectors = encoded
        }
        let data = vectors.enumerated().map { i, vector in
            Embedding(index: i, embedding: format == "base64" ? .base64(OpenAIRoutes.base64(vector)) : .floats(vector))
        }
        return .json(EmbeddingsBody(data: data, model: model ?? names.name, usage: Usage(promptTokens: tokens, totalTokens: tokens)))
    }

    @Sendable func models(_ request: Request, context: AppRequestContext) async throws -> Response {
        let names = ModelNames(encoder: try backend.ready().encoder)
        return .json(ModelList(data: names.listed.map { Model(id: $0, created: created) }))
    }

    /// An image input: a data URI or bare base64. URLs are not fetched: the server works offline.
    static func imageBytes(_ input: String, field: String) throws(APIError) -> [UInt8] {
        let lower = input.prefix(8).lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            throw APIError(.badRequest, "url_not_fetched",
                           "\"\(field)\" is a URL; this server does not download images: send a data URI (data:image/jpeg;base64,...) or base64")
        }
        return try decodeBase64(input, field: field)
    }

    /// The vector as little-endian float32 bytes in base64, as OpenAI's `encoding_format: "base64"`.
    static func base64(_ vector: [Float]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(vector.count * 4)
        for value in vector { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return Data(bytes).base64EncodedString()
    }
}
