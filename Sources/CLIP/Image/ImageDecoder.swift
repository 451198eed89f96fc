import CImageCodecs
import Foundation

/// JPEG and PNG bytes → upright 8-bit RGB, the way the reference pipeline sees them:
/// Hugging Face `convert_to_rgb(PIL.ImageOps.exif_transpose(Image.open(file)))` with Pillow 13.
/// - format sniffed from the magic bytes, never the file name;
/// - gray replicated; CMYK/YCCK JPEG (Adobe inverted) converted as Pillow does;
/// - 16-bit PNG: high byte for RGB(A)/gray+alpha, clipped to 255 for plain 16-bit gray (Pillow's
///   "I;16" → "RGB");
/// - alpha (and PNG tRNS) composited onto white, as `convert_to_rgb` does;
/// - EXIF (or XMP) orientation 2...8 applied.
/// The pixel count is checked from the header before any pixel buffer is allocated; libjpeg/libpng
/// errors are caught in C (see `Sources/CImageCodecs`) and come back as `CLIPError`s.
public enum ImageDecoder {
    /// Images larger than this (width x height) are refused unless the caller allows more.
    public static let defaultMaxPixels: Int = 64_000_000
    /// Longest side over shortest side accepted (panoramas reach 20:1; a scanned strip 60:1).
    public static let maxAspectRatio = 100

    /// Decodes JPEG or PNG bytes to upright 8-bit RGB (EXIF orientation applied).
    public static func decode(_ bytes: [UInt8], maxPixels: Int = defaultMaxPixels) throws(CLIPError) -> RGBImage {
        try decode(bytes, maxPixels: maxPixels, reducingTo: nil).image
    }

    /// `decode`, or with `reducingTo` (`--fast-decode`) a JPEG decoded scaled down in the DCT domain
    /// by 1/2, 1/4 or 1/8 while its short side stays at least `reducingTo` pixels. The pixel limit
    /// applies to the full size, which is reported too.
    public static func decode(_ bytes: [UInt8], maxPixels: Int = defaultMaxPixels,
                              reducingTo minimumShortSide: Int?) throws(CLIPError) -> ReducedImage {
        if bytes.isEmpty { throw .emptyImage }
        return try bytes.withUnsafeBufferPointer { (buffer) throws(CLIPError) -> ReducedImage in
            try decode(buffer, maxPixels: maxPixels, reducingTo: minimumShortSide)
        }
    }

    /// Reads a file and decodes it; an unreadable file gives `.unreadableFile(path, reason)`.
    public static func decode(contentsOf url: URL, maxPixels: Int = defaultMaxPixels) throws(CLIPError) -> RGBImage {
        try decode(readFile(url), maxPixels: maxPixels)
    }

    /// Reads a file and decodes it as `decode(_:maxPixels:reducingTo:)` does.
    public static func decode(contentsOf url: URL, maxPixels: Int = defaultMaxPixels,
                              reducingTo minimumShortSide: Int?) throws(CLIPError) -> ReducedImage {
        try decode(readFile(url), maxPixels: maxPixels, reducingTo: minimumShortSide)
    }

    // MARK: - Decoding

    private static func decode(_ bytes: UnsafeBufferPointer<UInt8>, maxPixels: Int,
                               reducingTo minimumShortSide: Int?) throws(CLIPError) -> ReducedImage {
        var decoder: OpaquePointer?
        defer { clip_decoder_free(decoder) }
        let opened = clip_decoder_open(bytes.baseAddress, bytes.count, &decoder)
        guard opened == CLIP_CODEC_OK, let decoder else {
            if opened == CLIP_CODEC_NOT_IMAGE, let other = otherFormatName(bytes) {
                throw .unsupportedImage("\(other) (only JPEG and PNG are decoded)")
            }
            throw error(for: opened, decoder)
        }

        let width = Int(clip_decoder_stored_width(decoder))
        let height = Int(clip_decoder_stored_height(decoder))
        guard width > 0, height > 0 else { throw .corruptImage("header announces \(width)x\(height) pixels") }
        // Both are below 2^31, so the product cannot overflow Int.
        guard width * height <= maxPixels else {
            throw .tooManyPixels(width: width, height: height, limit: maxPixels)
        }
        guard max(width, height) <= min(width, height) * maxAspectRatio else {
            throw .extremeAspectRatio(width: width, height: height, limit: maxAspectRatio)
        }

        let denominator = minimumShortSide.map { clip_decoder_reduce(decoder, UInt32(clamping: max(1, $0))) } ?? 1
        let count = Int(clip_decoder_stored_width(decoder)) * Int(clip_decoder_stored_height(decoder)) * 3
        var status = CLIP_CODEC_OK
        var uprightWidth: UInt32 = 0
        var uprightHeight: UInt32 = 0
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            status = clip_decoder_decode(decoder, buffer.baseAddress, count, &uprightWidth, &uprightHeight)
            // UInt8 is trivial; on failure the array is dropped unread.
            initialized = count
        }
        guard status == CLIP_CODEC_OK else { throw error(for: status, decoder) }
        let image = RGBImage(width: Int(uprightWidth), height: Int(uprightHeight), pixels: pixels)
        let quarterTurn = clip_decoder_orientation(decoder) >= 5   // orientations 5...8 swap the sides
        return ReducedImage(image: image, fullWidth: quarterTurn ? height : width, fullHeight: quarterTurn ? width : height,
                            denominator: Int(denominator))
    }

    /// What `decode(_:maxPixels:reducingTo:)` made: the pixels, and the size of the full image.
    public struct ReducedImage: Sendable {
        public let image: RGBImage
        /// The full image's upright size (what the library records).
        public let fullWidth: Int
        public let fullHeight: Int
        /// 1 (decoded at full size), 2, 4 or 8.
        public let denominator: Int
    }

    private static func error(for status: clip_codec_status, _ decoder: OpaquePointer?) -> CLIPError {
        let message = decoder.map { String(cString: clip_decoder_message($0)) } ?? ""
        switch status {
        case CLIP_CODEC_NOT_IMAGE:
            return .notAnImage
        case CLIP_CODEC_UNSUPPORTED:
            return .unsupportedImage(message)
        case CLIP_CODEC_TRUNCATED:
            return .corruptImage(message.hasPrefix("truncated") ? message : "truncated: \(message)")
        case CLIP_CODEC_OUT_OF_MEMORY:
            return .unsupportedImage("out of memory: \(message)")
        default:
            return .corruptImage(message.isEmpty ? "decoder status \(status.rawValue)" : message)
        }
    }

    /// Names formats we recognise but do not decode, so the error says what the bytes are.
    private static func otherFormatName(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + prefix.count && prefix.indices.allSatisfy { bytes[offset + $0] == prefix[$0] }
        }
        let ascii = { (text: String) in Array(text.utf8) }
        if starts(ascii("GIF87a")) || starts(ascii("GIF89a")) { return "GIF" }
        if starts(ascii("RIFF")) && starts(ascii("WEBP"), at: 8) { return "WebP" }
        if starts(ascii("BM")) && bytes.count >= 26 { return "BMP" }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return "TIFF" }
        if starts(ascii("ftyp"), at: 4) { return "HEIF/AVIF" }
        if starts([0xFF, 0x4F, 0xFF, 0x51]) || starts([0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50]) { return "JPEG 2000" }
        if starts([0xFF, 0x0A]) || starts([0x00, 0x00, 0x00, 0x0C, 0x4A, 0x58, 0x4C, 0x20]) { return "JPEG XL" }
        return nil
    }

    // MARK: - Files

    private static func startsLikeJPEGOrPNG(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { clip_sniff_format($0.baseAddress, $0.count) != CLIP_FORMAT_UNKNOWN }
    }

    private static func readFile(_ url: URL) throws(CLIPError) -> [UInt8] {
        let path = url.path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .unreadableFile(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw .unreadableFile(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw .unreadableFile(path: path, reason: "not a regular file")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(info.st_size))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadableFile(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            // A folder walk meets videos and archives: the first bytes decide, so do not read
            // gigabytes only to report that they are not an image.
            if bytes.count >= 16, bytes.count == n, !startsLikeJPEGOrPNG(bytes) { break }
        }
        return bytes
    }
}
