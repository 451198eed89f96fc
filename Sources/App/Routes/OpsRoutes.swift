import Hummingbird

/// `GET /healthz`, `GET /readyz`, `GET /metrics`.
struct OpsRoutes {
    let backend: Backend
    let settings: ServerSettings
    let metrics: ServerMetrics

    struct Status: Encodable { let status: String }

    /// `/readyz`: what is loaded, for probes and for the page (which shows `demo_note`).
    struct Readiness: Encodable {
        let status = "ready"
        let model: String
        let dimension: Int
        let images: Int
        let demo: Bool
        let demoNote: String?   // absent for a real model
        let apiKeyRequired: Bool

        enum CodingKeys: String, CodingKey {
            case status, model, dimension, images, demo
            case demoNote = "demo_note"
            case apiKeyRequired = "api_key_required"
        }
    }

    /// Mounted at the root: `/healthz`, `/readyz`, `/metrics`.
    var endpoints: RouteCollection<AppRequestContext> {
        RouteCollection(context: AppRequestContext.self)
            .get("healthz", use: health)
            .get("readyz", use: readiness)
            .get("metrics", use: prometheus)
    }

    @Sendable func health(_ request: Request, context: AppRequestContext) async throws -> Response {
        Response.json(Status(status: "ok"))
    }

    @Sendable func readiness(_ request: Request, context: AppRequestContext) async throws -> Response {
        let loaded = try backend.ready()
        return Response.json(Readiness(
            model: loaded.encoder.name, dimension: loaded.encoder.dimension, images: loaded.store.vectors.count,
            demo: loaded.demo != nil, demoNote: loaded.demo?.note, apiKeyRequired: settings.apiKey != nil))
    }

    @Sendable func prometheus(_ request: Request, context: AppRequestContext) async throws -> Response {
        if let loaded = backend.current { metrics.setIndexSize(loaded.store.vectors.count) }
        metrics.setLibrary(backend.library.snapshot)
        return Response.bytes(metrics.registry.emitToBuffer(), contentType: "text/plain; version=0.0.4; charset=utf-8")
    }
}
