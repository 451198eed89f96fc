import CLIP
import Foundation

/// Limits and switches of one server (the `serve` flags).
public struct ServerSettings: Sendable {
    /// Largest request body accepted; larger is 413 `body_too_large` (`--max-body-mb`, default 32 MiB).
    public var maxBodyBytes: Int
    /// When set, `POST /index` and `DELETE /images/{id}` need `Authorization: Bearer <key>`.
    public var apiKey: String?
    /// Folder of static files (`/`, `/openapi.yaml`, ...); nil serves none.
    public var publicDirectory: URL?
    /// Decoder pixel limit (decompression-bomb guard); larger images are 413 `too_many_pixels`.
    public var maxPixels: Int

    public init(maxBodyBytes: Int = 32 << 20, apiKey: String? = nil, publicDirectory: URL? = nil,
                maxPixels: Int = ImageDecoder.defaultMaxPixels) {
        self.maxBodyBytes = maxBodyBytes
        self.apiKey = apiKey.flatMap { $0.isEmpty ? nil : $0 }
        self.publicDirectory = publicDirectory
        self.maxPixels = maxPixels
    }

    // MARK: - Fixed limits (documented in openapi.yaml)

    static let maxK = 1000
    static let maxOffset = 1_000_000
    static let maxListLimit = 1000
    static let maxTexts = 256
    static let maxImages = 64
    static let maxLabels = 1000
}
