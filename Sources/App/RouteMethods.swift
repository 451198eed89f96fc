import Hummingbird
import Synchronization

/// The methods each route path answers, read from the router once every route is added, so that
/// a known path asked with another method answers 405 with `Allow` (RFC 9110 15.5.6) instead of 404.
final class RouteMethods: Sendable {
    private struct Route {
        /// Path segments; nil stands for a `{parameter}` capture.
        let segments: [String?]
        var methods: Set<String>
    }

    private let routes = Mutex<[Route]>([])

    /// Records every path and method of `router`.
    func record(_ descriptions: [Router<AppRequestContext>.RouteDescription]) {
        var byPath: [String: Route] = [:]
        for description in descriptions {
            let path = description.path.description
            let segments = path.split(separator: "/").map { $0.hasPrefix("{") && $0.hasSuffix("}") ? nil : String($0) }
            byPath[path, default: Route(segments: segments, methods: [])].methods.insert(description.method.rawValue)
        }
        // The router answers HEAD for every GET route (`.autoGenerateHeadEndpoints`).
        for (path, route) in byPath where route.methods.contains("GET") { byPath[path]?.methods.insert("HEAD") }
        routes.withLock { $0 = Array(byPath.values) }
    }

    /// The methods of the route matching `path` (sorted, for `Allow`), nil when no route matches.
    func allowed(path: String) -> [String]? {
        let segments = path.split(separator: "/").map(String.init)
        let methods = routes.withLock { routes in
            routes.filter { route in
                route.segments.count == segments.count
                    && zip(route.segments, segments).allSatisfy { pattern, segment in pattern == nil || pattern == segment }
            }.reduce(into: Set<String>()) { $0.formUnion($1.methods) }
        }
        return methods.isEmpty ? nil : methods.sorted()
    }

    /// 405 `method_not_allowed` naming the path, with `Allow`.
    static func notAllowed(_ method: HTTPRequest.Method, path: String, allow: [String]) -> APIError {
        var error = APIError(.methodNotAllowed, "method_not_allowed",
                             "\(method.rawValue) is not allowed on \(path.prefix(200)); allowed: \(allow.joined(separator: ", "))")
        error.headers[.allow] = allow.joined(separator: ", ")
        return error
    }
}
