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

    func register(on router: Router<AppRequestContext>) {
        router.get("/healthz") { _, _ in
            Response.json(Status(status: "ok"))
        }
        router.get("/readyz") { _, _ in
            let loaded = try backend.ready()
            return Response.json(Readiness(
                model: loaded.encoder.name, dimension: loaded.encoder.dimension, images: loaded.index.count,
                demo: loaded.demo != nil, demoNote: loaded.demo?.note, apiKeyRequired: settings.apiKey != nil))
        }
        router.get("/metrics") { _, _ in
            if let loaded = try? backend.ready() { metrics.setIndexSize(loaded.index.count) }
            return Response.bytes(metrics.registry.emitToBuffer(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
    }
}
