import CLIP
import Foundation
import Hummingbird

/// Immich's machine-learning service, for its smart search: `POST /predict` (multipart/form-data
/// with an `entries` field naming `clip.textual` or `clip.visual` and a model, then a `text`
/// field or an `image` file) → `{"clip": "<the vector as a JSON array, in a string>"}` plus
/// `imageHeight`/`imageWidth` for an image; `GET /ping` → `pong`. Shapes follow
/// immich-app/immich `machine-learning/immich_ml/main.py` (`get_entries`, `predict`,
/// `run_inference`) and `immich_ml/models/clip/{textual,visual}.py`; errors are FastAPI's
/// `{"detail": "..."}`, 422 for bad `entries`, 400 when neither `text` nor `image` is given.
struct ImmichRoutes {
    let backend: Backend
    let settings: ServerSettings
    let metrics: ServerMetrics
    let jobs: ImageJobLimiter

    struct TextBody: Encodable {
        let clip: String
    }

    struct ImageBody: Encodable {
        let clip: String
        let imageHeight: Int
        let imageWidth: Int
    }

    /// Which CLIP tower an `entries` field asks for.
    enum Tower: String { case textual, visual }

    /// Mounted at the root behind `ClientErrorStyle(.detail)`.
    var endpoints: RouteCollection<AppRequestContext> {
        RouteCollection(context: AppRequestContext.self)
            .add(middleware: ClientErrorStyle(shape: .detail))
            .post("predict", use: predict)
            .get("ping", use: ping)
    }

    @Sendable func ping(_ request: Request, context: AppRequestContext) async throws -> Response {
        Response.bytes(Array("pong".utf8), contentType: "text/plain; charset=utf-8")
    }

    @Sendable func predict(_ request: Request, context: AppRequestContext) async throws -> Response {
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.lowercased().hasPrefix("multipart/form-data") else {
            throw APIError(.unsupportedMediaType, "unsupported_media_type",
                           "send multipart/form-data with an \"entries\" field and a \"text\" field or an \"image\" file")
        }
        guard let boundary = Multipart.boundary(of: contentType) else {
            throw APIError(.badRequest, "bad_multipart", "multipart/form-data without a boundary parameter")
        }
        let parts = try Multipart.parse(try await request.collectBody(limit: settings.maxBodyBytes), boundary: boundary)
        func field(_ name: String) -> [UInt8]? { parts.last(where: { $0.name == name })?.body }
        guard let entries = field("entries") else {
            throw APIError(.unprocessableContent, "invalid_entries", "Invalid request format: the \"entries\" field is missing")
        }
        let loaded = try backend.ready()
        let tower = try ImmichRoutes.tower(entries: entries, names: ModelNames(encoder: loaded.encoder))
        let image = field("image")
        let text = field("text").map { String(decoding: $0, as: UTF8.self) }
        guard image != nil || text != nil else {
            throw APIError(.badRequest, "invalid_query", "Either image or text must be provided")
        }
        // Upstream would run the tower on the image then; neither tower takes both.
        guard image == nil || text == nil else {
            throw APIError(.badRequest, "invalid_query", "give either a \"text\" field or an \"image\" file, not both")
        }
        switch tower {
        case .textual:
            guard let text else { throw APIError(.badRequest, "invalid_query", "clip.textual needs a \"text\" field") }
            try checkTextLengths([text], field: "text")
            let vector = await encodeTexts([text], loaded: loaded, metrics: metrics)[0]
            return .json(TextBody(clip: try ImmichRoutes.jsonArray(vector)))
        case .visual:
            guard let image else { throw APIError(.badRequest, "invalid_query", "clip.visual needs an \"image\" file") }
            let encoded = try await encodeImageWithSize(image, name: "image", loaded: loaded, settings: settings,
                                                        metrics: metrics, jobs: jobs)
            return .json(ImageBody(clip: try ImmichRoutes.jsonArray(encoded.vector), imageHeight: encoded.height, imageWidth: encoded.width))
        }
    }

    /// `entries`: `{"clip": {"textual"|"visual": {"modelName": "...", "options"?: {...}}}}`, for the
    /// loaded model (`ModelNames.accepts`). Anything else is 422 `invalid_entries`.
    static func tower(entries: [UInt8], names: ModelNames) throws(APIError) -> Tower {
        func invalid(_ message: String) -> APIError {
            APIError(.unprocessableContent, "invalid_entries", "Invalid request format: \(message)")
        }
        do throws(APIError) {
            var root = try JSONObjectReader(bytes: entries)
            guard root.fieldNames == ["clip"], var clip = try root.object("clip") else {
                throw invalid("\"entries\" must hold exactly one task, \"clip\" (this server has no \(root.fieldNames.filter { $0 != "clip" }.map { "\"\($0.prefix(50))\"" }.joined(separator: ", ")) model)")
            }
            guard clip.fieldNames.count == 1, let name = clip.fieldNames.first, let tower = Tower(rawValue: name),
                  var entry = try clip.object(name) else {
                throw invalid("\"clip\" must hold exactly one of \"textual\" or \"visual\", each an object")
            }
            guard let modelName = try entry.string("modelName") else { throw invalid("\"clip.\(name).modelName\" is missing") }
            // Options (textual "language", ...) mean nothing to this model: accepted, ignored.
            _ = entry.value("options")
            try entry.finish()
            guard names.accepts(modelName) else {
                throw invalid("model \"\(modelName.prefix(100))\" is not loaded here; this server runs \(names.listed.map { "\"\($0)\"" }.joined(separator: " or "))\(names.family.map { " (Immich's name: \"\($0)__openai\")" } ?? "")")
            }
            return tower
        } catch let error where error.status == .unprocessableContent {
            throw error
        } catch {
            throw invalid(error.message)
        }
    }

    /// The vector as a JSON array in a string, as Immich's service serializes it (orjson).
    static func jsonArray(_ vector: [Float]) throws -> String {
        let encoder = JSONEncoder()
        return String(decoding: try encoder.encode(vector), as: UTF8.self)
    }
}
