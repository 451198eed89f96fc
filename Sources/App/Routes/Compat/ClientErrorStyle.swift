import Hummingbird

/// Renders the errors of a compatibility route collection the way its client reads them, with the
/// status and headers (`Retry-After`) our `APIError` gives: Immich's machine-learning service
/// answers FastAPI's `{"detail": "..."}`, Weaviate's CLIP module `{"error": "..."}` (a string).
/// Routes whose clients have no convention of their own keep our envelope and need no middleware.
struct ClientErrorStyle: RouterMiddleware {
    typealias Context = AppRequestContext

    enum Shape: Sendable {
        /// `{"detail": message}` (FastAPI's `HTTPException`).
        case detail
        /// `{"error": message}`.
        case errorString
    }

    let shape: Shape

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let mapped = RequestMiddleware.apiError(from: error, request: request, logger: context.logger)
            var response: Response
            switch shape {
            case .detail: response = .json(["detail": mapped.message], status: mapped.status)
            case .errorString: response = .json(["error": mapped.message], status: mapped.status)
            }
            response.headers.append(contentsOf: mapped.headers)
            return response
        }
    }
}
