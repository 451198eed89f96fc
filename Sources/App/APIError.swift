import CLIP
import Hummingbird
import Ingest
import LibraryStore
import NIOCore
import SearchIndex

/// The one error type of the HTTP layer, rendered as `{"error":{"code":"...","message":"..."}}`
/// with `status` (DESIGN.md 3). `init(_:)` is the one place where library errors (`CLIPError`,
/// `LibraryStoreError`, `IngestError`, ...) and framework errors become HTTP.
public struct APIError: HTTPResponseError, Sendable, Equatable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    /// Headers the response carries besides the JSON content type (`Retry-After`, `Allow`, ...).
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = Response.error(self)
        response.headers.append(contentsOf: headers)
        return response
    }

    // MARK: - Common cases

    static func invalidField(_ message: String) -> APIError { APIError(.badRequest, "invalid_field", message) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, "not_found", message) }
    static func bodyTooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, "body_too_large", "request body is larger than the limit of \(limit) bytes")
    }
    static let notReady = APIError(.serviceUnavailable, "not_ready", "the model or the database is not loaded yet")

    // MARK: - Everything else → HTTP

    /// Whether a 5xx is ours to log (the client cannot fix it).
    var isServerFault: Bool { status.code >= 500 && code != "not_ready" }

    /// The status and code of any error a route or the framework throws.
    public init(_ error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let error as IngestError:
            self = APIError(ingest: error)
        case let error as CLIPError:
            self = APIError(image: error, prefix: "")
        case let error as LibraryStoreError:
            self = APIError(store: error)
        case let error as SearchIndexError:
            self = APIError(.badRequest, "invalid_query", error.description)
        case is NIOTooManyBytesError:
            self = APIError(.contentTooLarge, "body_too_large", "request body is larger than the limit")
        case let error as HTTPError:
            self = APIError(error.status, "http_error", error.body ?? error.status.reasonPhrase)
        default:
            self = APIError(.internalServerError, "internal", Self.seeTheLog)
        }
    }

    /// The message of a 5xx whose details (paths, SQL) are for the operator, not the client: the
    /// request middleware logs the error itself.
    static let seeTheLog = "the server could not complete the request; its log has the details"

    private init(ingest error: IngestError) {
        switch error {
        case .badImage(let name, let image): self = APIError(image: image, prefix: "\(name): ")
        case .store(_, let store): self = APIError(store: store)
        case .unreadable, .vanished: self = APIError(.internalServerError, "storage_error", Self.seeTheLog)
        }
    }

    /// Too many pixels is 413 (a decompression bomb guard); anything else a client sent that is not
    /// a usable JPEG/PNG is 422.
    private init(image error: CLIPError, prefix: String) {
        switch error {
        case .tooManyPixels:
            self = APIError(.contentTooLarge, "too_many_pixels", prefix + error.description)
        case .emptyImage, .notAnImage, .unsupportedImage, .corruptImage, .extremeAspectRatio:
            self = APIError(.unprocessableContent, "bad_image", prefix + error.description)
        default:
            self = APIError(.internalServerError, "internal", Self.seeTheLog)
        }
    }

    private init(store error: LibraryStoreError) {
        switch error {
        case .unknownImage: self = APIError(.notFound, "not_found", error.description)
        case .vector, .invalidArgument: self = APIError(.badRequest, "invalid_query", error.description)
        case .database, .io: self = APIError(.internalServerError, "storage_error", Self.seeTheLog)
        }
    }
}
