import Hummingbird

/// `GET /healthz`, `GET /readyz`, `GET /metrics`.
struct OpsRoutes {
    let backend: Backend
    let metrics: ServerMetrics

    struct Status: Encodable { let status: String }

    func register(on router: Router<AppRequestContext>) {
        router.get("/healthz") { _, _ in
            Response.json(Status(status: "ok"))
        }
        router.get("/readyz") { _, _ in
            guard backend.isReady else { throw APIError.notReady }
            return Response.json(Status(status: "ready"))
        }
        router.get("/metrics") { _, _ in
            if let loaded = try? backend.ready() { metrics.setIndexSize(loaded.index.count) }
            return Response.bytes(metrics.registry.emitToBuffer(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
    }
}
