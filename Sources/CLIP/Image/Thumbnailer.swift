import CImageCodecs

/// Small JPEG previews for the browser page and `/images/{id}/thumbnail`: the image scaled (never
/// enlarged) so its long side is `longSide`, with the same antialiased bicubic as preprocessing.
public enum Thumbnailer {
    public static let defaultLongSide = 256
    public static let defaultQuality: Int32 = 85

    /// The scaled size: long side `longSide` (or the image's own when it is smaller), aspect kept,
    /// short side rounded and at least 1.
    public static func size(width: Int, height: Int, longSide: Int) -> (width: Int, height: Int) {
        let long = max(width, height)
        guard long > longSide, longSide > 0 else { return (width, height) }
        let scale = Double(longSide) / Double(long)
        if width >= height {
            return (longSide, max(1, Int((Double(height) * scale).rounded())))
        }
        return (max(1, Int((Double(width) * scale).rounded())), longSide)
    }

    /// JPEG bytes of the thumbnail. Throws `CLIPError.thumbnailEncodingFailed` with libjpeg's
    /// message if encoding fails (it does not for valid images).
    public static func jpeg(from image: RGBImage, longSide: Int = defaultLongSide,
                            quality: Int32 = defaultQuality) throws(CLIPError) -> [UInt8] {
        let (width, height) = size(width: image.width, height: image.height, longSide: longSide)
        let scaled = (width, height) == (image.width, image.height)
            ? image : BicubicResampler.resize(image, width: width, height: height)
        return try encodeJPEG(scaled, quality: quality)
    }

    /// Baseline JPEG of `image` as it is.
    public static func encodeJPEG(_ image: RGBImage, quality: Int32 = defaultQuality) throws(CLIPError) -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        var outputSize = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            clip_jpeg_encode_rgb(pixels.baseAddress, UInt32(image.width), UInt32(image.height), quality,
                                 &output, &outputSize, &message, message.count)
        }
        guard status == CLIP_JPEG_ENCODE_OK, let output else {
            let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw .thumbnailEncodingFailed(width: image.width, height: image.height, reason: text)
        }
        defer { clip_jpeg_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: outputSize))
    }
}
