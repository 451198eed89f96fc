import Hummingbird

/// Refuses requests a web page on another site could make the browser send (DNS rebinding, CSRF):
/// a `Host` that is not an allowed name (403 `forbidden_host`), and a state-changing request whose
/// `Origin` is not this server (403 `forbidden_origin`). Allowed: loopback names, IP literals (a
/// rebinding page reaches us under its own domain name, never under an address), the bound host
/// and `--allowed-host` names. Requests without `Host`/`Origin` come from programs, not pages.
struct HostGuard: RouterMiddleware {
    typealias Context = AppRequestContext

    let allowedNames: Set<String>

    /// `allowedHosts`: the bound host and the `--allowed-host` names.
    init(allowedHosts: [String]) {
        var names: Set<String> = ["localhost"]
        for name in allowedHosts {
            let normal = HostGuard.normalized(name)
            if !normal.isEmpty, normal != "0.0.0.0", normal != "::" { names.insert(normal) }
        }
        allowedNames = names
    }

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        if let authority = request.head.authority {
            let name = HostGuard.name(ofAuthority: authority)
            guard allows(name) else {
                throw APIError(.forbidden, "forbidden_host",
                               "Host \"\(name.prefix(100))\" is not one this server answers to; start it with --allowed-host \(name.prefix(100)) to allow it")
            }
        }
        if ![.get, .head, .options].contains(request.method), let origin = request.headers[.origin] {
            guard let originName = HostGuard.name(ofOrigin: origin), allows(originName) else {
                throw APIError(.forbidden, "forbidden_origin",
                               "requests from the page at \(origin.prefix(100)) may not change this library")
            }
        }
        return try await next(request, context)
    }

    func allows(_ name: String) -> Bool {
        allowedNames.contains(name) || name.hasSuffix(".localhost") || HostGuard.isIPLiteral(name)
    }

    // MARK: - Parsing

    /// "Example.com:8080" → "example.com"; "[::1]:8080" → "::1".
    static func name(ofAuthority authority: String) -> String {
        var text = Substring(authority)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return normalized(String(text)) }
            return normalized(String(text[text.index(after: text.startIndex)..<close]))
        }
        if let colon = text.lastIndex(of: ":") { text = text[..<colon] }
        return normalized(String(text))
    }

    /// "https://example.com:8080" → "example.com"; "null" and anything without a host → nil.
    static func name(ofOrigin origin: String) -> String? {
        guard let schemeEnd = origin.range(of: "://") else { return nil }
        let authority = origin[schemeEnd.upperBound...].prefix { $0 != "/" }
        guard !authority.isEmpty else { return nil }
        return name(ofAuthority: String(authority))
    }

    static func normalized(_ name: String) -> String {
        var lower = name.lowercased()
        if lower.hasSuffix(".") { lower.removeLast() }
        return lower
    }

    /// Dotted IPv4 or an IPv6 literal (hex digits, colons, dots).
    static func isIPLiteral(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 4, parts.allSatisfy({ part in UInt8(part).map { _ in part.count <= 3 } ?? false }) { return true }
        return name.contains(":") && name.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }
}
