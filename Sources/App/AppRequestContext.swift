import Hummingbird

/// Per-request context: Hummingbird's core storage plus the request id the log line and the
/// `X-Request-Id` header carry.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String = ""

    public init(source: Source) {
        coreContext = .init(source: source)
    }
}
