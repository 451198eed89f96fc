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
        var alphaDroppedCrop: String?
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
    @Test("bit-exact to Pillow's BICUBIC resize on procedural images",
          arguments: try ImageFixtureManifest.load().resample)
    func matchesPillow(_ c: ImageFixtureManifest.Resample) throws {
        let source = proceduralImage(width: c.inWidth, height: c.inHeight)
        let expected = try ImageFixtureManifest.bytes(c.file)
        try #require(expected.count == c.outWidth * c.outHeight * 3)
        let ours = BicubicResampler.resize(source, width: c.outWidth, height: c.outHeight)
        let cmp = ByteComparison(ours.pixels, expected)
        print("resample \(c.inWidth)x\(c.inHeight) -> \(c.outWidth)x\(c.outHeight): \(cmp)")
        #expect(cmp.maxDifference == 0, "\(c.file): \(cmp)")
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
}
