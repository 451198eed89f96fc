import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// Builds the HTTP server of DESIGN.md 3 around a `Backend`; tests build the same router.
public enum ClipApplication {
    /// Every route, behind `RequestMiddleware` (request id, errors → JSON, static files, 405 with
    /// `Allow`, logs, metrics); the write routes in a group behind the API key; the compatibility
    /// APIs of DESIGN.md 3 (clip-retrieval, OpenAI, Immich, Weaviate), which only read.
    public static func router(backend: Backend, settings: ServerSettings, metrics: ServerMetrics = ServerMetrics()) -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
        let routes = RouteMethods()
        let staticFiles = settings.publicDirectory.map(StaticFiles.init) ?? StaticFiles.embedded
        router.add(middleware: RequestMiddleware(metrics: metrics, staticFiles: staticFiles, routes: routes))
        router.add(middleware: HostGuard(allowedHosts: settings.allowedHosts))
        let jobs = ImageJobLimiter(running: settings.imageJobs, queued: settings.queuedImageJobs)
        let images = ImageRoutes(backend: backend, settings: settings, metrics: metrics)
        router.addRoutes(SearchRoutes(backend: backend, settings: settings, metrics: metrics, jobs: jobs).endpoints, atPath: "/search")
        router.addRoutes(images.endpoints, atPath: "/images")
        router.addRoutes(DuplicateRoutes(backend: backend).endpoints, atPath: "/duplicates")
        router.addRoutes(ModelRoutes(backend: backend, settings: settings, metrics: metrics, jobs: jobs).endpoints)
        router.addRoutes(OpsRoutes(backend: backend, settings: settings, metrics: metrics).endpoints)
        router.addRoutes(LibraryRoutes(backend: backend).endpoints)
        router.addRoutes(SpecRoute(backend: backend, staticFiles: staticFiles).endpoints)

        router.addRoutes(ClipRetrievalRoutes(backend: backend, settings: settings, metrics: metrics, jobs: jobs).endpoints)
        router.addRoutes(OpenAIRoutes(backend: backend, settings: settings, metrics: metrics, jobs: jobs).endpoints, atPath: "/v1")
        router.addRoutes(ImmichRoutes(backend: backend, settings: settings, metrics: metrics, jobs: jobs).endpoints)
        router.addRoutes(WeaviateRoutes(backend: backend, settings: settings, metrics: metrics, jobs: jobs).endpoints)

        let writes = router.group().add(middleware: APIKeyMiddleware(key: settings.apiKey))
        writes.addRoutes(IndexRoutes(backend: backend, settings: settings, metrics: metrics, jobs: jobs).endpoints, atPath: "/index")
        writes.addRoutes(images.writeEndpoints, atPath: "/images")
        routes.record(router.routes)
        return router
    }

    /// The application listening on `host:port` (port 0 picks a free one; `onServerRunning` gets
    /// the bound port), running `services` beside the server (model loading, the demo gallery).
    public static func application(
        backend: Backend, settings: ServerSettings, host: String, port: Int, logger: Logger,
        services: [any Service] = [],
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let limits = HTTP1Channel.Configuration(
            additionalChannelHandlers: [ConnectionLimits(requestTimeout: .nanoseconds(settings.requestTimeout.nanoseconds))],
            idleTimeout: .nanoseconds(settings.idleTimeout.nanoseconds))
        return Application(
            router: router(backend: backend, settings: settings),
            server: .http1(configuration: limits),
            configuration: .init(address: .hostname(host, port: port), serverName: "clip-server"),
            services: services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}
