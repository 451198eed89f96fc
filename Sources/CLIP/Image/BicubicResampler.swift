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
    static let precisionBits: Int32 = 22

    // MARK: - Public entry points

    /// The whole image resized to `width` x `height`.
    public static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        resize(image, width: width, height: height, window: (0, 0, width, height))
    }

    /// The window `(x, y, width, height)` of `image` resized to `width` x `height`.
    public static func resize(_ image: RGBImage, width: Int, height: Int,
                              window: (x: Int, y: Int, width: Int, height: Int)) -> RGBImage {
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
                                   dst: tmp.baseAddress!, dstStride: stride)
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
                                 firstRow: rows.lowerBound, dst: dst.baseAddress!)
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

    /// Pillow's clip8: the accumulator's integer part, saturated to 0...255.
    @inline(__always)
    static func clip8(_ v: SIMD8<Int32>) -> SIMD8<Int32> {
        (v &>> precisionBits).clamped(lowerBound: SIMD8(repeating: 0), upperBound: SIMD8(repeating: 255))
    }

    /// Horizontal pass over interleaved RGB bytes. Each output pixel's taps are expanded to one weight per
    /// byte (w0 w0 w0 w1 w1 w1 ...), padded to whole 24-byte groups, so the dot product runs in three
    /// SIMD8 accumulators whose lanes belong to fixed channels (lane l of accumulator r is byte 8r + l).
    static func horizontalPass(src: UnsafeBufferPointer<UInt8>, srcWidth: Int, rows: Range<Int>, kernel: Kernel,
                               dst: UnsafeMutablePointer<UInt8>, dstStride: Int) {
        let outputs = kernel.starts.count
        let groups = (kernel.maxTaps * 3 + 23) / 24           // 24-byte groups per output pixel
        let perOutput = groups * 3                            // SIMD8 weight vectors per output pixel
        var expanded = [SIMD8<Int32>](repeating: .zero, count: outputs * perOutput)
        for o in 0 ..< outputs {
            for t in 0 ..< kernel.counts[o] {
                let w = kernel.weights[o * kernel.maxTaps + t]
                for c in 0 ..< 3 {
                    let b = t * 3 + c
                    expanded[o * perOutput + b / 8][b % 8] = w
                }
            }
        }
        let srcRowBytes = srcWidth * 3
        let readBytes = groups * 24
        // A row whose last window would read past the end of the image is copied into a padded buffer.
        var padded = [UInt8](repeating: 0, count: srcRowBytes + readBytes)
        let half = Int32(1) << (precisionBits - 1)
        expanded.withUnsafeBufferPointer { weightsBuffer in
            padded.withUnsafeMutableBufferPointer { pad in
                let weights = weightsBuffer.baseAddress!
                for (i, y) in rows.enumerated() {
                    var row = UnsafeRawPointer(src.baseAddress! + y * srcRowBytes)
                    if (y + 1) * srcRowBytes + readBytes > src.count {
                        pad.baseAddress!.update(from: src.baseAddress! + y * srcRowBytes, count: srcRowBytes)
                        row = UnsafeRawPointer(pad.baseAddress!)
                    }
                    let out = dst + i * dstStride
                    for o in 0 ..< outputs {
                        var p = row + kernel.starts[o] * 3
                        var w = weights + o * perOutput
                        var a0 = SIMD8<Int32>.zero, a1 = SIMD8<Int32>.zero, a2 = SIMD8<Int32>.zero
                        for _ in 0 ..< groups {
                            a0 &+= SIMD8<Int32>(truncatingIfNeeded: p.loadUnaligned(as: SIMD8<UInt8>.self)) &* w[0]
                            a1 &+= SIMD8<Int32>(truncatingIfNeeded: p.loadUnaligned(fromByteOffset: 8, as: SIMD8<UInt8>.self)) &* w[1]
                            a2 &+= SIMD8<Int32>(truncatingIfNeeded: p.loadUnaligned(fromByteOffset: 16, as: SIMD8<UInt8>.self)) &* w[2]
                            p += 24
                            w += 3
                        }
                        // Byte 8r + l of a group is channel (8r + l) % 3.
                        let r = a0[0] &+ a0[3] &+ a0[6] &+ a1[1] &+ a1[4] &+ a1[7] &+ a2[2] &+ a2[5]
                        let g = a0[1] &+ a0[4] &+ a0[7] &+ a1[2] &+ a1[5] &+ a2[0] &+ a2[3] &+ a2[6]
                        let b = a0[2] &+ a0[5] &+ a1[0] &+ a1[3] &+ a1[6] &+ a2[1] &+ a2[4] &+ a2[7]
                        let v = clip8(SIMD8(r &+ half, g &+ half, b &+ half, 0, 0, 0, 0, 0))
                        out[o * 3] = UInt8(truncatingIfNeeded: v[0])
                        out[o * 3 + 1] = UInt8(truncatingIfNeeded: v[1])
                        out[o * 3 + 2] = UInt8(truncatingIfNeeded: v[2])
                    }
                }
            }
        }
    }

    /// Vertical pass: every output byte of a row is a dot product down a column of `src`, so whole rows
    /// are processed 8 bytes at a time with the same weight. `src` rows are padded to `srcStride`.
    static func verticalPass(src: UnsafePointer<UInt8>, srcStride: Int, rowBytes: Int, kernel: Kernel,
                             firstRow: Int, dst: UnsafeMutablePointer<UInt8>) {
        let half = SIMD8<Int32>(repeating: Int32(1) << (precisionBits - 1))
        var line = [SIMD8<Int32>](repeating: .zero, count: srcStride / 8)
        kernel.weights.withUnsafeBufferPointer { weights in
            line.withUnsafeMutableBufferPointer { acc in
                for o in 0 ..< kernel.starts.count {
                    for j in 0 ..< acc.count { acc[j] = half }
                    let first = kernel.starts[o] - firstRow
                    for t in 0 ..< kernel.counts[o] {
                        let w = SIMD8<Int32>(repeating: weights[o * kernel.maxTaps + t])
                        let row = UnsafeRawPointer(src + (first + t) * srcStride)
                        for j in 0 ..< acc.count {
                            acc[j] &+= SIMD8<Int32>(truncatingIfNeeded: row.loadUnaligned(fromByteOffset: j * 8, as: SIMD8<UInt8>.self)) &* w
                        }
                    }
                    let out = dst + o * rowBytes
                    for j in 0 ..< acc.count {
                        let v = SIMD8<UInt8>(truncatingIfNeeded: clip8(acc[j]))
                        let n = min(8, rowBytes - j * 8)
                        for l in 0 ..< n { out[j * 8 + l] = v[l] }
                    }
                }
            }
        }
    }
}
