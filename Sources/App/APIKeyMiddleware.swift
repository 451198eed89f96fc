import Foundation
import Hummingbird

/// The optional write key on the group of write routes: `Authorization: Bearer <key>`, compared
/// in constant time. Without a key configured every request passes.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let key: String?

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        if let key { try Self.check(request.headers[.authorization] ?? "", expected: key) }
        return try await next(request, context)
    }

    static func check(_ header: String, expected: String) throws(APIError) {
        let prefix = "Bearer "
        guard header.count > prefix.count, header.lowercased().hasPrefix(prefix.lowercased()) else {
            throw APIError(.unauthorized, "unauthorized", "this endpoint needs an API key: send Authorization: Bearer <key>")
        }
        let given = String(header.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
        guard constantTimeEqual(Array(given.utf8), Array(expected.utf8)) else {
            throw APIError(.unauthorized, "unauthorized", "the API key is wrong")
        }
    }

    /// Equal without an early exit; only the lengths' equality leaks.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        let n = max(a.count, b.count)
        for i in 0..<n {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}
