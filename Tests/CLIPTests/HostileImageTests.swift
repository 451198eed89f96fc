import CLIP
import Testing
import TestImages

/// Images made to cost more than they are worth are refused from their header, and what a PNG may
/// carry besides its pixels is bounded.
@Suite("Hostile images")
struct HostileImageTests {
    @Test func longThinImagesAreRefusedBeforeDecoding() throws {
        for (width, height) in [(60_000, 1), (1, 60_000), (10_100, 100)] {
            #expect(throws: CLIPError.extremeAspectRatio(width: width, height: height, limit: ImageDecoder.maxAspectRatio)) {
                try ImageDecoder.decode(PNGBuilder.gray(width: width, height: height))
            }
        }
        // 100:1 exactly is still an image (a panorama strip).
        let strip = try ImageDecoder.decode(PNGBuilder.gray(width: 10_000, height: 100))
        #expect(strip.width == 10_000 && strip.height == 100)
    }

    /// XMP orientation is read from a text chunk; it is honoured where it normally is.
    @Test func xmpOrientationInAPNGTextChunkIsApplied() throws {
        let image = try ImageDecoder.decode(PNGBuilder.gray(width: 40, height: 20, chunks: [.xmpOrientation(6)]))
        #expect(image.width == 20 && image.height == 40)
    }

    /// Hundreds of compressed text chunks are not all inflated: past 64 the rest are skipped unread
    /// (so an orientation placed after them is not seen), and none inflates past 1 MiB.
    @Test func textChunksAreCappedInCountAndSize() throws {
        let junk = PNGBuilder.Chunk.zTXt("Comment", [UInt8](repeating: 0x20, count: 64 << 10))
        let many = PNGBuilder.gray(width: 40, height: 20, chunks: Array(repeating: junk, count: 300) + [.xmpOrientation(6)])
        let decoded = try ImageDecoder.decode(many)
        #expect(decoded.width == 40 && decoded.height == 20, "the 301st text chunk was read")

        let huge = PNGBuilder.gray(width: 40, height: 20, chunks: [.xmpOrientation(6, padding: 2 << 20)])
        let image = try ImageDecoder.decode(huge)
        #expect(image.width == 40 && image.height == 20, "a text chunk inflating to 2 MiB was read")
    }
}
