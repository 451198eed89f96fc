import CImageCodecs
import Foundation

/// Pillow's antialiased BICUBIC resize, bit-exact: `Image.resize(size, Image.BICUBIC)` with no `box` and
/// no `reducing_gap` (what transformers' slow CLIP image processor calls).
///
/// Follows Pillow's src/libImaging/Resample.c (https://github.com/python-pillow/Pillow):
/// cubic convolution with a = -0.5, support 2 * max(scale, 1), coefficients normalized in Double then
/// rounded to fixed point with 22 fractional bits, horizontal pass first (clipped to UInt8), then the
/// vertical pass; a pass whose size does not change is skipped.
///
/// It can compute just a window of the resized image (the center crop), which gives the same bytes as
/// resizing everything and cropping, because every output pixel depends only on its own coefficients.
public enum BicubicResampler {
    /// Fractional bits of the fixed-point coefficients: 32 - 8 (pixel) - 2 (overshoot headroom).
    static let precisionBits = Int32(CLIP_RESAMPLE_PRECISION_BITS)

    // MARK: - Public entry points

    /// The whole image resized to `width` x `height`.
    public static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        resize(image, width: width, height: height, window: (0, 0, width, height))
    }

    /// The window `(x, y, width, height)` of `image` resized to `width` x `height`.
    public static func resize(_ image: RGBImage, width: Int, height: Int,
                              window: (x: Int, y: Int, width: Int, height: Int)) -> RGBImage {
        resize(image, width: width, height: height, window: window, avx2: useAVX2)
    }

    /// `resize` with the C passes' AVX2 paths on or off (tests run both).
    static func resize(_ image: RGBImage, width: Int, height: Int,
                       window: (x: Int, y: Int, width: Int, height: Int), avx2: Bool) -> RGBImage {
        precondition(width > 0 && height > 0, "resize to \(width)x\(height)")
        precondition(window.x >= 0 && window.y >= 0 && window.width > 0 && window.height > 0
                     && window.x + window.width <= width && window.y + window.height <= height,
                     "window \(window) outside \(width)x\(height)")
        // Pillow skips a pass whose size is unchanged (and returns a copy when neither changes).
        let horizontal = width != image.width
        let vertical = height != image.height

        // Input rows the vertical pass reads, and its taps relative to the first of them.
        let rows: Range<Int>
        var vKernel: Kernel? = nil
        if vertical {
            let k = Kernel(inSize: image.height, outSize: height, outputs: window.y ..< window.y + window.height)
            rows = k.inputRange
            vKernel = k
        } else {
            rows = window.y ..< window.y + window.height
        }

        // (rows.count, window.width * 3) UInt8 after the horizontal pass, rows padded to a multiple of 8.
        let rowBytes = window.width * 3
        let stride = (rowBytes + 7) & ~7
        var temp = [UInt8](repeating: 0, count: rows.count * stride + 8)
        temp.withUnsafeMutableBufferPointer { tmp in
            image.pixels.withUnsafeBufferPointer { src in
                if horizontal {
                    let k = Kernel(inSize: image.width, outSize: width, outputs: window.x ..< window.x + window.width)
                    horizontalPass(src: src, srcWidth: image.width, rows: rows, kernel: k,
                                   dst: tmp.baseAddress!, dstStride: stride, avx2: avx2)
                } else {
                    for (i, y) in rows.enumerated() {
                        let from = src.baseAddress! + (y * image.width + window.x) * 3
                        (tmp.baseAddress! + i * stride).update(from: from, count: rowBytes)
                    }
                }
            }
        }

        var out = [UInt8](repeating: 0, count: window.width * window.height * 3)
        out.withUnsafeMutableBufferPointer { dst in
            temp.withUnsafeBufferPointer { tmp in
                if let k = vKernel {
                    verticalPass(src: tmp.baseAddress!, srcStride: stride, rowBytes: rowBytes, kernel: k,
                                 firstRow: rows.lowerBound, dst: dst.baseAddress!, avx2: avx2)
                } else {
                    for r in 0 ..< window.height {
                        (dst.baseAddress! + r * rowBytes).update(from: tmp.baseAddress! + r * stride, count: rowBytes)
                    }
                }
            }
        }
        return RGBImage(width: window.width, height: window.height, pixels: out)
    }

    // MARK: - Coefficients (Resample.c: precompute_coeffs + normalize_coeffs_8bpc)

    /// Pillow's bicubic filter, a = -0.5.
    @inline(__always)
    static func bicubic(_ value: Double) -> Double {
        let a = -0.5
        let x = abs(value)
        if x < 1.0 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
        if x < 2.0 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0.0
    }

    /// Fixed-point taps of one axis for a range of outputs.
    struct Kernel {
        /// First input index read by each output.
        var starts: [Int]
        /// Number of inputs read by each output.
        var counts: [Int]
        /// (outputs, maxTaps) fixed-point weights, zero past `counts`.
        var weights: [Int32]
        var maxTaps: Int

        /// The inputs any of these outputs reads.
        var inputRange: Range<Int> {
            var lo = Int.max, hi = 0
            for (s, c) in zip(starts, counts) {
                lo = min(lo, s)
                hi = max(hi, s + c)
            }
            return lo ..< max(lo, hi)
        }

        init(inSize: Int, outSize: Int, outputs: Range<Int>) {
            let scale = Double(inSize) / Double(outSize)
            let filterScale = max(scale, 1.0)
            let support = 2.0 * filterScale
            let maxTaps = Int(support.rounded(.up)) * 2 + 1
            self.maxTaps = maxTaps
            starts = []
            counts = []
            starts.reserveCapacity(outputs.count)
            counts.reserveCapacity(outputs.count)
            weights = [Int32](repeating: 0, count: outputs.count * maxTaps)
            var taps = [Double](repeating: 0, count: maxTaps)
            let inverse = 1.0 / filterScale
            let one = Double(1 << precisionBits)
            for (o, xx) in outputs.enumerated() {
                let center = (Double(xx) + 0.5) * scale
                // C's (int) truncates toward zero; both bounds are then clamped to the input.
                let xmin = max(Int(center - support + 0.5), 0)
                let xmax = min(Int(center + support + 0.5), inSize) - xmin
                var sum = 0.0
                for x in 0 ..< xmax {
                    let w = bicubic((Double(x + xmin) - center + 0.5) * inverse)
                    taps[x] = w
                    sum += w
                }
                for x in 0 ..< xmax {
                    let w = sum != 0.0 ? taps[x] / sum : taps[x]
                    weights[o * maxTaps + x] = w < 0 ? Int32(-0.5 + w * one) : Int32(0.5 + w * one)
                }
                starts.append(xmin)
                counts.append(xmax)
            }
        }
    }

    // MARK: - Passes (Resample.c: ImagingResampleHorizontal_8bpc / ImagingResampleVertical_8bpc)

    /// Whether the C passes take their AVX2 paths (run-time check; the results are the same bytes).
    static let useAVX2 = clip_resample_has_avx2() != 0

    /// Horizontal pass over interleaved RGB bytes: rows `rows` of `src` into rows of `dst`, `dstStride` apart.
    static func horizontalPass(src: UnsafeBufferPointer<UInt8>, srcWidth: Int, rows: Range<Int>, kernel: Kernel,
                               dst: UnsafeMutablePointer<UInt8>, dstStride: Int, avx2: Bool) {
        let starts = kernel.starts.map { Int32($0) }, counts = kernel.counts.map { Int32($0) }
        clip_resample_horizontal(src.baseAddress!, srcWidth, src.count / (srcWidth * 3), rows.lowerBound, rows.count,
                                 starts, counts, kernel.weights, kernel.maxTaps, starts.count, dst, dstStride, avx2 ? 1 : 0)
    }

    /// Vertical pass: every output byte of a row is a dot product down a column of `src` (rows padded
    /// to `srcStride`, a multiple of 8; its first row is input row `firstRow`).
    static func verticalPass(src: UnsafePointer<UInt8>, srcStride: Int, rowBytes: Int, kernel: Kernel,
                             firstRow: Int, dst: UnsafeMutablePointer<UInt8>, avx2: Bool) {
        let starts = kernel.starts.map { Int32($0 - firstRow) }, counts = kernel.counts.map { Int32($0) }
        clip_resample_vertical(src, srcStride, rowBytes, starts, counts, kernel.weights, kernel.maxTaps,
                               starts.count, dst, avx2 ? 1 : 0)
    }
}
