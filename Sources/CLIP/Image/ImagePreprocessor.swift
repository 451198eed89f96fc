/// CLIP's image preprocessing, exact to transformers' slow (PIL/NumPy) processor
/// (`CLIPImageProcessorPil` in transformers 5.x, `CLIPImageProcessor(use_fast=False)` before):
/// resize so the short side is `imageSize` (PIL bicubic), center crop `imageSize` x `imageSize`,
/// `x / 255`, `(x - mean) / std`, channel-major.
///
/// Reference: transformers/image_processing_backends.py (`PilBackend._preprocess`) and
/// transformers/image_transforms.py (`get_resize_output_image_size`, `resize`, `center_crop`,
/// `rescale`, `normalize`).
public struct ImagePreprocessor: Sendable {
    /// OpenAI CLIP's normalization (transformers' OPENAI_CLIP_MEAN / OPENAI_CLIP_STD). Written as Double and
    /// then rounded, as numpy does with `np.array(mean, dtype=np.float32)`.
    public static let clipMean: [Float] = [0.48145466, 0.4578275, 0.40821073].map { (x: Double) in Float(x) }
    public static let clipStd: [Float] = [0.26862954, 0.26130258, 0.27577711].map { (x: Double) in Float(x) }

    /// Side of the square crop (and the short side after resizing).
    public let imageSize: Int
    public let mean: [Float]
    public let std: [Float]
    /// (3, 256): the normalized value of every byte in every channel.
    private let normalized: [Float]

    public init(imageSize: Int = 224, mean: [Float] = ImagePreprocessor.clipMean,
                std: [Float] = ImagePreprocessor.clipStd) {
        precondition(imageSize > 0 && mean.count == 3 && std.count == 3,
                     "ImagePreprocessor: imageSize \(imageSize), \(mean.count) means, \(std.count) stds")
        self.imageSize = imageSize
        self.mean = mean
        self.std = std
        // transformers: rescale = Float32(Float64(x) * (1/255)); normalize = (x - mean) / std in Float32.
        var table = [Float](repeating: 0, count: 3 * 256)
        for c in 0 ..< 3 {
            for v in 0 ..< 256 {
                let rescaled = Float(Double(v) * (1.0 / 255.0))
                table[c * 256 + v] = (rescaled - mean[c]) / std[c]
            }
        }
        normalized = table
    }

    /// `--fast-decode`: the short side a JPEG may be reduced to before the resize, twice the crop
    /// (Pillow's `draft()` with `thumbnail`'s reducing gap of 2), so the antialiased resize still
    /// averages at least two pixels into one.
    public var reducedDecodeShortSide: Int { 2 * imageSize }

    // MARK: - Geometry

    /// Where an image of `width` x `height` goes: the resized size and the crop's top-left corner in it.
    public struct Geometry: Sendable, Equatable {
        public var resizedWidth: Int
        public var resizedHeight: Int
        public var cropLeft: Int
        public var cropTop: Int

        public init(resizedWidth: Int, resizedHeight: Int, cropLeft: Int, cropTop: Int) {
            self.resizedWidth = resizedWidth
            self.resizedHeight = resizedHeight
            self.cropLeft = cropLeft
            self.cropTop = cropTop
        }
    }

    /// transformers' `get_resize_output_image_size(size=imageSize, default_to_square=False)`:
    /// `long = int(size * long / short)` in Double, then `center_crop`'s `(d - crop) // 2` offsets.
    public func geometry(width: Int, height: Int) -> Geometry {
        precondition(width > 0 && height > 0, "geometry of \(width)x\(height)")
        let (short, long) = width <= height ? (width, height) : (height, width)
        let newLong = Int(Double(imageSize * long) / Double(short))
        let (w, h) = width <= height ? (imageSize, newLong) : (newLong, imageSize)
        // newLong >= imageSize, so the crop never needs transformers' zero padding.
        return Geometry(resizedWidth: w, resizedHeight: h,
                        cropLeft: (w - imageSize) / 2, cropTop: (h - imageSize) / 2)
    }

    // MARK: - Crop and normalize

    /// The `imageSize` x `imageSize` RGB crop before normalization. Only the cropped part of the resized image
    /// is computed, so a very long image never allocates its whole resized form.
    public func crop(_ image: RGBImage) -> RGBImage {
        let g = geometry(width: image.width, height: image.height)
        return BicubicResampler.resize(image, width: g.resizedWidth, height: g.resizedHeight,
                                       window: (g.cropLeft, g.cropTop, imageSize, imageSize))
    }

    /// The crop, and the whole resized image it was cut from when that is a downscale no longer
    /// than `maxResizedLongSide` (else nil, and only the crop is computed, as `crop`). The crop is
    /// the same bytes either way; a caller that also needs a small copy of the image (a thumbnail)
    /// can make it from `resized` instead of resampling the full photo a second time.
    public func cropAndResized(_ image: RGBImage, maxResizedLongSide: Int) -> (crop: RGBImage, resized: RGBImage?) {
        let g = geometry(width: image.width, height: image.height)
        guard g.resizedWidth <= image.width, g.resizedHeight <= image.height,
              max(g.resizedWidth, g.resizedHeight) <= maxResizedLongSide else { return (crop(image), nil) }
        let resized = BicubicResampler.resize(image, width: g.resizedWidth, height: g.resizedHeight)
        // A "resize" to the same size runs no pass: it copies the window, the crop.
        let crop = BicubicResampler.resize(resized, width: resized.width, height: resized.height,
                                           window: (g.cropLeft, g.cropTop, imageSize, imageSize))
        return (crop, resized)
    }

    /// (3, imageSize, imageSize) normalized pixel values, channel-major.
    public func pixelValues(_ image: RGBImage) -> [Float] {
        let cropped = crop(image)
        return [Float](unsafeUninitializedCapacity: 3 * imageSize * imageSize) { buffer, count in
            pixelValues(crop: cropped, into: buffer.baseAddress!)
            count = 3 * imageSize * imageSize
        }
    }

    /// Writes the (3, imageSize, imageSize) normalized values of an already cropped image into `into`
    /// (e.g. one slot of a batch buffer).
    public func pixelValues(crop: RGBImage, into: UnsafeMutablePointer<Float>) {
        precondition(crop.width == imageSize && crop.height == imageSize,
                     "pixelValues: crop is \(crop.width)x\(crop.height), expected \(imageSize)x\(imageSize)")
        let plane = imageSize * imageSize
        normalized.withUnsafeBufferPointer { table in
            crop.pixels.withUnsafeBufferPointer { bytes in
                let r = table.baseAddress!, g = r + 256, b = r + 512
                for i in 0 ..< plane {
                    into[i] = r[Int(bytes[3 * i])]
                    into[plane + i] = g[Int(bytes[3 * i + 1])]
                    into[2 * plane + i] = b[Int(bytes[3 * i + 2])]
                }
            }
        }
    }
}
