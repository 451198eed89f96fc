import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The outermost layer of every request: gives it an id (`X-Request-Id`), turns every thrown error
/// into the JSON error envelope, serves `Public/` for GET paths no route matched, answers 405 with
/// `Allow` for a known path asked with another method, logs one line per request and records its
/// metrics. Nothing a handler throws escapes as anything but a 4xx/5xx.
struct RequestMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let metrics: ServerMetrics
    let staticFiles: StaticFiles
    let routes: RouteMethods

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var context = context
        context.requestID = RequestMiddleware.clientRequestID(request) ?? context.id
        var response: Response
        var route: String
        do {
            response = try await next(request, context)
            route = context.endpointPath ?? "unmatched"
        } catch {
            route = context.endpointPath ?? "unmatched"
            do {
                guard route == "NotFound" else { throw error }
                (route, response) = try unmatched(request)
            } catch {
                response = try RequestMiddleware.apiError(from: error, request: request, logger: context.logger)
                    .response(from: request, context: context)
            }
        }
        response.headers[HTTPField.Name("X-Request-Id")!] = context.requestID
        let duration = ContinuousClock.now - start
        let status = Int(response.status.code)
        metrics.recordRequest(route: route, method: request.method.rawValue, status: status, duration: duration)
        context.logger.info(
            "\(request.method.rawValue) \(request.uri.path) \(status) \(String(format: "%.1f", duration.milliseconds))ms",
            metadata: ["request_id": .string(context.requestID)])
        return response
    }

    /// A request no route matched: 405 with `Allow` when its path is a route's (or a static
    /// file's) and only the method differs; else a static file for GET and HEAD; else 404.
    private func unmatched(_ request: Request) throws -> (route: String, response: Response) {
        let path = request.uri.path
        if let allow = routes.allowed(path: path) {
            throw RouteMethods.notAllowed(request.method, path: path, allow: allow)
        }
        if request.method == .get || request.method == .head {
            return ("static", try staticFiles.response(for: request))
        }
        if staticFiles.exists(rawPath: path) {
            throw RouteMethods.notAllowed(request.method, path: path, allow: ["GET", "HEAD"])
        }
        throw HTTPError(.notFound)
    }

    /// A client's own `X-Request-Id` when it is short and plain; otherwise Hummingbird's id.
    static func clientRequestID(_ request: Request) -> String? {
        guard let value = request.headers[HTTPField.Name("X-Request-Id")!], (1...64).contains(value.count),
              value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
        else { return nil }
        return value
    }

    /// The error as the client sees it: routes that match nothing are 404 `not_found` naming the
    /// path; faults the client cannot fix are logged.
    static func apiError(from error: any Error, request: Request, logger: Logger) -> APIError {
        if let http = error as? HTTPError, http.status == .notFound {
            return APIError(.notFound, "not_found", "no route for \(request.method.rawValue) \(request.uri.path)")
        }
        let mapped = APIError(error)
        if mapped.isServerFault { logger.error("\(request.method.rawValue) \(request.uri.path): \(String(reflecting: error))") }
        return mapped
    }
}
