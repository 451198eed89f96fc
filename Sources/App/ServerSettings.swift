import CLIP
import Foundation

/// Limits and switches of one server (the `serve` flags).
public struct ServerSettings: Sendable {
    /// Largest request body accepted; larger is 413 `body_too_large` (`--max-body-mb`, default 32 MiB).
    public var maxBodyBytes: Int
    /// When set, `POST /index` and `DELETE /images/{id}` need `Authorization: Bearer <key>`.
    public var apiKey: String?
    /// Folder of static files (`/`, `/openapi.yaml`, ...); nil serves the copy of `Public/` built
    /// into the binary.
    public var publicDirectory: URL?
    /// Decoder pixel limit (decompression-bomb guard); larger images are 413 `too_many_pixels`.
    public var maxPixels: Int
    /// Host names requests may carry besides loopback names, IP literals and the bound address
    /// (`--allowed-host`): anything else is 403, so a DNS-rebinding page cannot read the library.
    public var allowedHosts: [String]
    /// A connection with no request data for this long is closed; the headers of a request must
    /// arrive within it.
    public var idleTimeout: Duration
    /// A request's body must have arrived this long after its headers.
    public var requestTimeout: Duration
    /// Image decodes and encodes running at once (each can hold a large decoded photo), and how many
    /// more may wait; past that, 503 `busy` with `Retry-After`.
    public var imageJobs: Int
    public var queuedImageJobs: Int

    public init(maxBodyBytes: Int = 32 << 20, apiKey: String? = nil, publicDirectory: URL? = nil,
                maxPixels: Int = ImageDecoder.defaultMaxPixels, allowedHosts: [String] = [],
                idleTimeout: Duration = .seconds(30), requestTimeout: Duration = .seconds(300),
                imageJobs: Int = max(1, ProcessInfo.processInfo.activeProcessorCount), queuedImageJobs: Int = 32) {
        self.maxBodyBytes = maxBodyBytes
        self.apiKey = apiKey.flatMap { $0.isEmpty ? nil : $0 }
        self.publicDirectory = publicDirectory
        self.maxPixels = maxPixels
        self.allowedHosts = allowedHosts
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.imageJobs = max(1, imageJobs)
        self.queuedImageJobs = max(0, queuedImageJobs)
    }

    // MARK: - Fixed limits (documented in openapi.yaml)

    static let maxK = 1000
    static let maxOffset = 1_000_000
    static let maxListLimit = 1000
    public static let maxTexts = 256
    static let maxImages = 64
    static let maxLabels = 1000
    /// Longest text (query, negative, label, embed input) in UTF-8 bytes, checked before cleaning:
    /// CLIP reads 77 tokens at most, so 2,000 bytes leave room for any real caption.
    static let maxTextBytes = 2000
    /// Parts of one multipart upload.
    static let maxUploadParts = 256
    /// Largest integer a JSON body may hold where an id or count is read: 2^53 - 1, the largest
    /// a JSON number (a Double) holds exactly, so a larger one is refused rather than rounded.
    static let maxJSONInteger = (1 << 53) - 1
    /// Elements of any one JSON array in a body (the largest list a route takes is `labels`).
    static let maxJSONArrayElements = maxLabels
}
