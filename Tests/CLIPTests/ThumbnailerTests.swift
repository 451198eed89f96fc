import CLIP
import Foundation
import Testing

/// Thumbnails (CLIP's Thumbnailer + the C JPEG encoder), checked by decoding them back.
@Suite("Thumbnails")
struct ThumbnailerTests {
    static let images = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../CLIPTests/Fixtures/images").standardized

    @Test(arguments: [
        ("jpeg-baseline-landscape-640x480.jpg", 256, 192),
        ("jpeg-progressive-portrait-480x640.jpg", 192, 256),
        ("jpeg-large-2400x1800.jpg", 256, 192),
        ("jpeg-wide-1600x150.jpg", 256, 24),
        ("png-rgb-odd-333x517.png", 165, 256),
        ("png-rgb-tiny-50x37.png", 50, 37),   // never enlarged
    ])
    func thumbnailDecodesWithLongSide256(name: String, width: Int, height: Int) throws {
        let original = try ImageDecoder.decode(contentsOf: Self.images.appendingPathComponent(name))
        let jpeg = try Thumbnailer.jpeg(from: original, longSide: 256)
        #expect(Array(jpeg.prefix(3)) == [0xFF, 0xD8, 0xFF])
        let thumbnail = try ImageDecoder.decode(jpeg)
        #expect(thumbnail.width == width)
        #expect(thumbnail.height == height)
        // The same picture: close to the resampled original (JPEG q85 loses a little).
        let reference = (width, height) == (original.width, original.height)
            ? original : BicubicResampler.resize(original, width: width, height: height)
        let diff = zip(thumbnail.pixels, reference.pixels).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }
        let meanAbsoluteError = Double(diff) / Double(reference.pixels.count)
        #expect(meanAbsoluteError < 8, "mean absolute error \(meanAbsoluteError) for \(name)")
        #expect(jpeg.count < 64 * 1024)
    }

    @Test func sizeRule() {
        #expect(Thumbnailer.size(width: 1000, height: 1000, longSide: 256) == (256, 256))
        #expect(Thumbnailer.size(width: 10000, height: 1, longSide: 256) == (256, 1))
        #expect(Thumbnailer.size(width: 256, height: 100, longSide: 256) == (256, 100))
    }

    @Test func oneByOneImage() throws {
        let jpeg = try Thumbnailer.jpeg(from: RGBImage(width: 1, height: 1, pixels: [200, 10, 10]))
        let back = try ImageDecoder.decode(jpeg)
        #expect(back.width == 1 && back.height == 1)
        #expect(abs(Int(back.pixels[0]) - 200) < 20)
    }
}
