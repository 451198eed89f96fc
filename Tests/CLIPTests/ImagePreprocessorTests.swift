import Foundation
import Testing
@testable import CLIP

// Expected values come from tools/make_image_fixtures.py (transformers' CLIPImageProcessorPil + Pillow).

// MARK: - Fixtures

struct ImageFixtureManifest: Decodable {
    struct Image: Decodable {
        var file: String
        var format: String
        var pilMode: String
        var storedWidth: Int
        var storedHeight: Int
        var exifOrientation: Int
        var width: Int
        var height: Int
        var resizedWidth: Int
        var resizedHeight: Int
        var cropLeft: Int
        var cropTop: Int
        var expectedCrop: String
        var samples: String
        var transparency: Bool
    }
    struct Geometry: Decodable {
        var width: Int
        var height: Int
        var resizedWidth: Int
        var resizedHeight: Int
        var cropLeft: Int
        var cropTop: Int
    }
    struct Resample: Decodable {
        var inWidth: Int
        var inHeight: Int
        var outWidth: Int
        var outHeight: Int
        var file: String
    }
    var reference: String
    var cropSize: Int
    var images: [Image]
    var geometry: [Geometry]
    var resample: [Resample]

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/images")

    static func load() throws -> ImageFixtureManifest {
        let data = try Data(contentsOf: directory.appendingPathComponent("manifest.json"))
        return try JSONDecoder().decode(ImageFixtureManifest.self, from: data)
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(path)))
    }
}

/// The script's `procedural(width, height)`: integer hash noise (left half) and a noisy ramp (right half).
func proceduralImage(width: Int, height: Int) -> RGBImage {
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0 ..< height {
        for x in 0 ..< width {
            for c in 0 ..< 3 {
                var h = (UInt32(x) &* 0x9E37_79B1) ^ (UInt32(y) &* 0x85EB_CA77) ^ UInt32(truncatingIfNeeded: 0xC2B2_AE3D * (c + 1))
                h ^= h >> 15
                h = h &* 0x2C1B_3C6D
                h ^= h >> 12
                let ramp = UInt32((x * 7 + y * 3 + c * 50) % 256)
                let value = x < width / 2 ? h & 255 : (ramp + (h & 15)) & 255
                pixels[(y * width + x) * 3 + c] = UInt8(value)
            }
        }
    }
    return RGBImage(width: width, height: height, pixels: pixels)
}

/// Differences between two equally sized byte arrays.
struct ByteComparison: CustomStringConvertible {
    var maxDifference = 0
    var identical = 0
    var count = 0
    var identicalFraction: Double { count == 0 ? 0 : Double(identical) / Double(count) }

    init(_ a: [UInt8], _ b: [UInt8]) {
        precondition(a.count == b.count)
        count = a.count
        for (x, y) in zip(a, b) {
            let d = abs(Int(x) - Int(y))
            maxDifference = max(maxDifference, d)
            if d == 0 { identical += 1 }
        }
    }

    var description: String {
        "max diff \(maxDifference), identical \(identical)/\(count) (\(String(format: "%.4f", identicalFraction * 100))%)"
    }
}

// MARK: - Resampler alone (no decoder)

@Suite("BicubicResampler")
struct BicubicResamplerTests {
    @Test("bit-exact to Pillow's BICUBIC resize on procedural images, AVX2 and scalar passes",
          arguments: try ImageFixtureManifest.load().resample, [true, false])
    func matchesPillow(_ c: ImageFixtureManifest.Resample, avx2: Bool) throws {
        if avx2 && !BicubicResampler.useAVX2 { return }
        let source = proceduralImage(width: c.inWidth, height: c.inHeight)
        let expected = try ImageFixtureManifest.bytes(c.file)
        try #require(expected.count == c.outWidth * c.outHeight * 3)
        let ours = BicubicResampler.resize(source, width: c.outWidth, height: c.outHeight,
                                           window: (0, 0, c.outWidth, c.outHeight), avx2: avx2)
        let cmp = ByteComparison(ours.pixels, expected)
        #expect(cmp.maxDifference == 0, "\(c.file) (avx2 \(avx2)): \(cmp)")
    }

    @Test("AVX2 and scalar passes give the same bytes on random sizes and windows")
    func avx2EqualsScalar() {
        guard BicubicResampler.useAVX2 else { return }
        var rng = SystemRandomNumberGenerator()
        for _ in 0 ..< 40 {
            let (w, h) = (Int.random(in: 1...400, using: &rng), Int.random(in: 1...300, using: &rng))
            let source = RGBImage(width: w, height: h, pixels: (0 ..< w * h * 3).map { _ in UInt8.random(in: 0...255, using: &rng) })
            let (ow, oh) = (Int.random(in: 1...500, using: &rng), Int.random(in: 1...500, using: &rng))
            let window = (ow / 4, oh / 5, max(1, ow / 2), max(1, oh / 2))
            let fast = BicubicResampler.resize(source, width: ow, height: oh, window: window, avx2: true)
            let slow = BicubicResampler.resize(source, width: ow, height: oh, window: window, avx2: false)
            #expect(fast == slow, "\(w)x\(h) -> \(ow)x\(oh) window \(window)")
        }
    }

    @Test("a window of the resize equals the same window of the whole resize")
    func windowEqualsCroppedWhole() {
        let source = proceduralImage(width: 97, height: 61)
        for (w, h) in [(40, 30), (150, 90), (97, 45), (30, 61)] {
            let whole = BicubicResampler.resize(source, width: w, height: h)
            let (x, y, cw, ch) = (w / 3, h / 4, w / 2, h / 2)
            let window = BicubicResampler.resize(source, width: w, height: h, window: (x, y, cw, ch))
            var expected: [UInt8] = []
            for row in y ..< y + ch {
                expected += whole.pixels[(row * w + x) * 3 ..< (row * w + x + cw) * 3]
            }
            #expect(window.pixels == expected, "\(w)x\(h) window \(x),\(y) \(cw)x\(ch)")
        }
    }

    @Test("same size is a copy")
    func sameSizeIsCopy() {
        let source = proceduralImage(width: 31, height: 17)
        #expect(BicubicResampler.resize(source, width: 31, height: 17) == source)
    }
}

// MARK: - Geometry

@Suite("ImagePreprocessor geometry")
struct ImagePreprocessorGeometryTests {
    @Test("resized size and crop offsets match transformers for odd, tiny, wide and tall sizes",
          arguments: try ImageFixtureManifest.load().geometry)
    func geometry(_ g: ImageFixtureManifest.Geometry) {
        let ours = ImagePreprocessor().geometry(width: g.width, height: g.height)
        #expect(ours == .init(resizedWidth: g.resizedWidth, resizedHeight: g.resizedHeight,
                              cropLeft: g.cropLeft, cropTop: g.cropTop), "\(g.width)x\(g.height)")
    }

    @Test("crop is imageSize x imageSize for extreme aspect ratios")
    func extremeCrop() {
        let p = ImagePreprocessor()
        for (w, h) in [(1, 300), (300, 1), (1, 1), (2, 3)] {
            let c = p.crop(proceduralImage(width: w, height: h))
            #expect(c.width == 224 && c.height == 224, "\(w)x\(h)")
        }
        let small = ImagePreprocessor(imageSize: 32).crop(proceduralImage(width: 50, height: 40))
        #expect(small.width == 32 && small.height == 32)
    }

    @Test("cropAndResized gives crop's bytes, and the whole resize only for a downscale within the limit")
    func cropAndResized() {
        let p = ImagePreprocessor()
        for (w, h, limit, kept) in [(1000, 750, 896, true), (751, 1003, 896, true), (640, 640, 896, true),
                                    (3000, 500, 896, false), (3000, 500, 1400, true), (200, 150, 896, false),
                                    (224, 300, 896, true), (225, 224, 896, true)] {
            let image = proceduralImage(width: w, height: h)
            let (crop, resized) = p.cropAndResized(image, maxResizedLongSide: limit)
            #expect(crop == p.crop(image), "\(w)x\(h)")
            #expect((resized != nil) == kept, "\(w)x\(h), limit \(limit)")
            if let resized {
                let g = p.geometry(width: w, height: h)
                #expect(resized == BicubicResampler.resize(image, width: g.resizedWidth, height: g.resizedHeight), "\(w)x\(h)")
            }
        }
    }
}

// MARK: - End to end: decode -> crop -> normalize

@Suite("ImagePreprocessor vs transformers")
struct ImagePreprocessorReferenceTests {
    static let preprocessor = ImagePreprocessor()

    @Test("crop matches the reference crop (max 1 level, >= 99% identical)",
          arguments: try ImageFixtureManifest.load().images)
    func crop(_ f: ImageFixtureManifest.Image) throws {
        let image = try ImageDecoder.decode(contentsOf: ImageFixtureManifest.directory.appendingPathComponent(f.file))
        #expect(image.width == f.width && image.height == f.height,
                "\(f.file): decoded \(image.width)x\(image.height), reference \(f.width)x\(f.height)")
        let expected = try ImageDecoder.decode(try ImageFixtureManifest.bytes(f.expectedCrop))
        try #require(expected.width == 224 && expected.height == 224)
        let ours = Self.preprocessor.crop(image)
        let cmp = ByteComparison(ours.pixels, expected.pixels)
        print("crop \(f.file): \(cmp)")
        #expect(cmp.maxDifference <= 1, "\(f.file): \(cmp)")
        #expect(cmp.identicalFraction >= 0.99, "\(f.file): \(cmp)")
    }

    @Test("pixel values match the reference within 1e-5 where the crops agree",
          arguments: try ImageFixtureManifest.load().images)
    func pixelValues(_ f: ImageFixtureManifest.Image) throws {
        let image = try ImageDecoder.decode(contentsOf: ImageFixtureManifest.directory.appendingPathComponent(f.file))
        let expectedCrop = try ImageDecoder.decode(try ImageFixtureManifest.bytes(f.expectedCrop))
        let crop = Self.preprocessor.crop(image)
        let values = Self.preprocessor.pixelValues(image)  // (3, 224, 224)
        try #require(values.count == 3 * 224 * 224)

        // (UInt32 flat index, Float32 value) records, little-endian.
        let records = try ImageFixtureManifest.bytes(f.samples)
        try #require(records.count == 4096 * 8)
        var compared = 0
        var worst: Float = 0
        for r in 0 ..< records.count / 8 {
            let index = Int(records[8 * r ..< 8 * r + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            let bits = records[8 * r + 4 ..< 8 * r + 8].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let reference = Float(bitPattern: bits)
            // Channel-major index -> interleaved crop byte.
            let (c, p) = (index / (224 * 224), index % (224 * 224))
            guard crop.pixels[3 * p + c] == expectedCrop.pixels[3 * p + c] else { continue }
            compared += 1
            worst = max(worst, abs(values[index] - reference))
        }
        print("pixel values \(f.file): \(compared)/4096 samples compared, max |diff| \(worst)")
        #expect(compared >= 4096 * 99 / 100, "\(f.file): only \(compared) samples where the crops agree")
        #expect(worst <= 1e-5, "\(f.file): max |diff| \(worst)")
    }

    @Test("pixelValues(_:) is pixelValues(crop:into:) of crop(_:)")
    func batchSlotEqualsArray() throws {
        let f = try #require(try ImageFixtureManifest.load().images.first)
        let image = try ImageDecoder.decode(contentsOf: ImageFixtureManifest.directory.appendingPathComponent(f.file))
        let p = Self.preprocessor
        var batch = [Float](repeating: .nan, count: 2 * 3 * 224 * 224)
        batch.withUnsafeMutableBufferPointer { p.pixelValues(crop: p.crop(image), into: $0.baseAddress! + 3 * 224 * 224) }
        #expect(Array(batch[(3 * 224 * 224)...]) == p.pixelValues(image))
        #expect(batch[0].isNaN)
    }
}

// MARK: - Timing (opt-in, measured, never asserted)

/// `CLIP_TIMING_DIR=/tmp/clip-timing swift test -c release -Xswiftc -enable-testing --filter ImagePreprocessorTiming`
/// after `tools/make_image_fixtures.py --timing-dir /tmp/clip-timing`. Prints median milliseconds.
@Suite("ImagePreprocessor timing")
struct ImagePreprocessorTiming {
    @Test("decode + preprocess time of the JPEGs in $CLIP_TIMING_DIR",
          .enabled(if: ProcessInfo.processInfo.environment["CLIP_TIMING_DIR"] != nil))
    func timing() throws {
        let dir = URL(fileURLWithPath: ProcessInfo.processInfo.environment["CLIP_TIMING_DIR"]!)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".jpg") }.sorted()
        try #require(!files.isEmpty)
        let p = ImagePreprocessor()
        // Wall time, and this thread's CPU time (less sensitive to other processes on a shared machine).
        func now() -> (wall: Double, cpu: Double) {
            var w = timespec(), c = timespec()
            clock_gettime(CLOCK_MONOTONIC, &w)
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c)
            return (Double(w.tv_sec) * 1e3 + Double(w.tv_nsec) / 1e6, Double(c.tv_sec) * 1e3 + Double(c.tv_nsec) / 1e6)
        }
        func measure(_ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
            let t0 = now()
            try body()
            let t1 = now()
            return (t1.wall - t0.wall, t1.cpu - t0.cpu)
        }
        for name in files {
            let bytes = try [UInt8](Data(contentsOf: dir.appendingPathComponent(name)))
            var decode: [(wall: Double, cpu: Double)] = [], crop = decode, normalize = decode
            for _ in 0 ..< 9 {
                var image: RGBImage?
                decode.append(try measure { image = try ImageDecoder.decode(bytes) })
                var cropped: RGBImage?
                crop.append(measure { cropped = p.crop(image!) })
                var values = [Float](repeating: .nan, count: 3 * 224 * 224)
                normalize.append(measure {
                    values.withUnsafeMutableBufferPointer { p.pixelValues(crop: cropped!, into: $0.baseAddress!) }
                })
                #expect(cropped!.width == 224 && !values.contains { $0.isNaN })
            }
            let median = { (xs: [(wall: Double, cpu: Double)]) in
                String(format: "%.2f ms (cpu %.2f)", xs.map(\.wall).sorted()[xs.count / 2], xs.map(\.cpu).sorted()[xs.count / 2])
            }
            print("timing \(name): decode \(median(decode)), resize+crop \(median(crop)), normalize \(median(normalize)) (median of 9)")
        }
    }
}
