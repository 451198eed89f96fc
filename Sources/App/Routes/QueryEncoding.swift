import CLIP
import Foundation
import Ingest

/// Texts and images a request carries, turned into unit vectors off the cooperative pool
/// (`/search`, `/embed`, `/classify`). Nothing here stores anything.
func decodeBase64(_ string: String, field: String) throws(APIError) -> [UInt8] {
    // Accept a data URL (data:image/png;base64,....) as browsers produce it. Bytes, not
    // Characters: a combining mark after "data:" or "," must not hide them.
    var payload = Substring(string)
    if payload.utf8.starts(with: "data:".utf8), let comma = payload.utf8.firstIndex(of: UInt8(ascii: ",")) {
        payload = payload[payload.utf8.index(after: comma)...]
    }
    let compact = String(payload.filter { !$0.isWhitespace })
    guard let data = Data(base64Encoded: compact) else {
        throw APIError(.badRequest, "bad_base64", "\"\(field)\" is not valid base64")
    }
    return [UInt8](data)
}

/// One unit vector per text, in order, encoded in one pass with the texts of concurrent requests
/// (`Backend.Loaded.texts`); the metric records the pass this request's texts went through.
func encodeTexts(_ texts: [String], loaded: Backend.Loaded, metrics: ServerMetrics) async -> [[Float]] {
    let (vectors, took) = await loaded.texts.submit(texts)
    if !texts.isEmpty { metrics.recordEncode(kind: "text", duration: took) }
    return vectors
}

/// Refuses texts longer than `ServerSettings.maxTextBytes` before any cleaning or tokenizing runs
/// on them (400 `text_too_long`, naming the field).
func checkTextLengths(_ texts: [String], field: String) throws(APIError) {
    for (i, text) in texts.enumerated() where text.utf8.count > ServerSettings.maxTextBytes {
        let name = texts.count == 1 && !field.hasSuffix("s") ? field : "\(field)[\(i)]"
        throw APIError(.badRequest, "text_too_long",
                       "\"\(name)\" is \(text.utf8.count) bytes long; at most \(ServerSettings.maxTextBytes) (CLIP reads 77 tokens)")
    }
}

/// The work of `POST /embed`, shared with the compatibility routes that take texts and base64
/// images together (`/vectorize`): the count and length limits, every image's base64 decoded
/// before anything is encoded, then texts in one batch and images one per turn of `jobs`.
func embed(texts: [String], base64Images images: [String], textField: String, imageField: String,
           backend: Backend, settings: ServerSettings, metrics: ServerMetrics,
           jobs: ImageJobLimiter) async throws -> (texts: [[Float]], images: [[Float]]) {
    guard texts.count <= ServerSettings.maxTexts, images.count <= ServerSettings.maxImages else {
        throw APIError.invalidField("at most \(ServerSettings.maxTexts) texts and \(ServerSettings.maxImages) images per request")
    }
    try checkTextLengths(texts, field: textField)
    var imageBytes: [[UInt8]] = []
    for (i, base64) in images.enumerated() { imageBytes.append(try decodeBase64(base64, field: "\(imageField)[\(i)]")) }
    let loaded = try backend.ready()
    let textVectors = await encodeTexts(texts, loaded: loaded, metrics: metrics)
    var imageVectors: [[Float]] = []
    for (i, bytes) in imageBytes.enumerated() {
        imageVectors.append(try await encodeImage(bytes, name: "\(imageField)[\(i)]", loaded: loaded, settings: settings,
                                                  metrics: metrics, jobs: jobs))
    }
    return (textVectors, imageVectors)
}

/// Decodes and encodes one image in a turn of `jobs`.
func encodeImage(_ bytes: [UInt8], name: String, loaded: Backend.Loaded, settings: ServerSettings, metrics: ServerMetrics,
                 jobs: ImageJobLimiter) async throws -> [Float] {
    try await encodeImageWithSize(bytes, name: name, loaded: loaded, settings: settings, metrics: metrics, jobs: jobs).vector
}

/// `encodeImage` with the decoded (upright) image's size.
func encodeImageWithSize(_ bytes: [UInt8], name: String, loaded: Backend.Loaded, settings: ServerSettings, metrics: ServerMetrics,
                         jobs: ImageJobLimiter) async throws -> (vector: [Float], width: Int, height: Int) {
    let maxPixels = settings.maxPixels
    // The turn covers the encode too, so what waits for the model stays bounded by the job limits
    // (the 503 `busy` beyond them); concurrent turns share a batch.
    return try await jobs.run {
        let (crop, width, height) = try await offload {
            let decoded = try decodeImage(bytes, maxPixels: maxPixels, name: name, for: loaded.encoder)
            return (loaded.encoder.preprocessor.crop(decoded.image), decoded.fullWidth, decoded.fullHeight)
        }
        let (vectors, took) = await loaded.images.submit([crop])
        metrics.recordEncode(kind: "image", duration: took)
        return (vectors[0], width, height)
    }
}

/// Decodes JPEG/PNG bytes as `encoder` wants them (`fastDecode`); decoder errors become 422
/// `bad_image` / 413 `too_many_pixels` naming `name`.
func decodeImage(_ bytes: [UInt8], maxPixels: Int, name: String, for encoder: CLIPEncoder) throws(APIError) -> ImageDecoder.ReducedImage {
    do {
        return try encoder.decode(bytes, maxPixels: maxPixels)
    } catch {
        throw APIError(IngestError.badImage(name: name, error))
    }
}
