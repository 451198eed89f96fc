import Foundation
import Hummingbird
import Logging

/// Builds the HTTP server of DESIGN.md 3 around a `Backend`.
public enum ClipApplication {
    /// Every route, behind `RequestMiddleware` (request id, errors → JSON, static files, logs, metrics).
    public static func router(backend: Backend, settings: ServerSettings, metrics: ServerMetrics = ServerMetrics()) -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: RequestMiddleware(metrics: metrics, staticFiles: settings.publicDirectory.map(StaticFiles.init)))
        SearchRoutes(backend: backend, settings: settings, metrics: metrics).register(on: router)
        IndexRoutes(backend: backend, settings: settings, metrics: metrics, inFlight: InFlightUploads()).register(on: router)
        ImageRoutes(backend: backend, settings: settings, metrics: metrics).register(on: router)
        ModelRoutes(backend: backend, settings: settings, metrics: metrics).register(on: router)
        OpsRoutes(backend: backend, settings: settings, metrics: metrics).register(on: router)
        return router
    }

    /// The application listening on `host:port` (port 0 picks a free one; `onServerRunning` gets
    /// the bound port).
    public static func application(
        backend: Backend, settings: ServerSettings, host: String, port: Int, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(backend: backend, settings: settings),
            configuration: .init(address: .hostname(host, port: port), serverName: "clip-server"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}
