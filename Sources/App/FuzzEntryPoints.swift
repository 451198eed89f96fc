/// The readers of untrusted request bodies, for the libFuzzer targets in Fuzz/ (not an API).
@_spi(Fuzzing) public enum FuzzEntryPoints {
    /// Parses `bytes` as each JSON route does.
    public static func readJSONBodies(_ bytes: [UInt8]) {
        _ = try? SearchRoutes.parse(json: bytes)
        if var reader = try? JSONObjectReader(bytes: bytes) {
            _ = try? reader.strings("texts")
            _ = try? reader.strings("labels")
            _ = try? reader.int("image_id", in: 1...Int.max)
            _ = try? reader.double("min_score")
            _ = try? reader.finish()
        }
    }

    /// The first line is a Content-Type header; the rest a multipart body.
    public static func readMultipart(_ bytes: [UInt8]) {
        let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
        let header = String(decoding: bytes[..<newline], as: UTF8.self)
        let body = newline < bytes.endIndex ? Array(bytes[(newline + 1)...]) : []
        guard let boundary = Multipart.boundary(of: header) else { return }
        if let parts = try? Multipart.parse(body, boundary: boundary) {
            precondition(parts.count <= ServerSettings.maxUploadParts, "more parts than the limit")
        }
    }
}
