import CLIP
import Hummingbird
import SearchIndex

/// The one error type routes throw. The error middleware turns it into
/// `{"error":{"code":"...","message":"..."}}` with `status` (DESIGN.md 3). Only `App` maps the
/// library errors (`CLIPError`, `SearchIndexError`) to HTTP, here.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    // MARK: - Common cases

    static func invalidField(_ message: String) -> APIError { APIError(.badRequest, "invalid_field", message) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, "not_found", message) }
    static func bodyTooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, "body_too_large", "request body is larger than the limit of \(limit) bytes")
    }
    static let notReady = APIError(.serviceUnavailable, "not_ready", "the model or the database is not loaded yet")

    // MARK: - Library errors

    /// Image errors from the decoder: too many pixels is 413 (a decompression bomb guard), anything
    /// else a client sent that is not a usable JPEG/PNG is 422.
    static func from(_ error: CLIPError, name: String? = nil) -> APIError {
        let prefix = name.map { "\($0): " } ?? ""
        switch error {
        case .tooManyPixels:
            return APIError(.contentTooLarge, "too_many_pixels", prefix + error.description)
        case .emptyImage, .notAnImage, .unsupportedImage, .corruptImage:
            return APIError(.unprocessableContent, "bad_image", prefix + error.description)
        default:
            return APIError(.internalServerError, "internal", prefix + error.description)
        }
    }

    static func from(any error: any Error) -> APIError {
        switch error {
        case let error as APIError: return error
        case let error as CLIPError: return from(error)
        case let error as SearchIndexError: return from(error)
        default: return APIError(.internalServerError, "internal", "internal error: \(error)")
        }
    }

    static func from(_ error: SearchIndexError) -> APIError {
        switch error {
        case .unknownImage:
            return APIError(.notFound, "not_found", error.description)
        case .invalidArgument, .invalidEmbedding:
            return APIError(.badRequest, "invalid_query", error.description)
        default:
            return APIError(.internalServerError, "storage_error", error.description)
        }
    }
}
