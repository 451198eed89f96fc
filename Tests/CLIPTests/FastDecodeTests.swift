import CLIP
import Crypto
import Foundation
import Testing

/// `--fast-decode` against Pillow's own reduced JPEG decode (`draft()`), made by
/// tools/make_fast_decode_fixtures.py: the same scale, the same upright pixels, the full size kept.
@Suite("Fast decode (DCT scaling)")
struct FastDecodeTests {
    struct Expected: Decodable {
        struct Case: Decodable {
            var file: String
            var minShortSide: Int
            var denominator: Int
            var width: Int
            var height: Int
            var fullWidth: Int
            var fullHeight: Int
            var sha256: String
        }
        var cases: [Case]
    }

    static let cases: [Expected.Case] = {
        let url = ImageFixtureManifest.directory.appendingPathComponent("expected/fast-decode.json")
        return (try? JSONDecoder().decode(Expected.self, from: Data(contentsOf: url)).cases) ?? []
    }()

    @Test("the fixture lists reduced cases")
    func fixtureHasReducedCases() {
        #expect(Self.cases.count >= 20)
        #expect(Self.cases.filter { $0.denominator > 1 }.count >= 10)
    }

    @Test("reduced JPEGs equal Pillow's draft() decode, exif-transposed", arguments: cases)
    func reducedDecodeEqualsPillowDraft(_ expected: Expected.Case) throws {
        let bytes = try ImageFixtureManifest.bytes(expected.file)
        let decoded = try ImageDecoder.decode(bytes, reducingTo: expected.minShortSide)
        #expect(decoded.denominator == expected.denominator)
        #expect(decoded.image.width == expected.width && decoded.image.height == expected.height)
        #expect(decoded.fullWidth == expected.fullWidth && decoded.fullHeight == expected.fullHeight)
        let digest = SHA256.hash(data: decoded.image.pixels).map { String(format: "%02x", $0) }.joined()
        #expect(digest == expected.sha256, "\(expected.file) at 1/\(expected.denominator)")
    }

    @Test("without reducingTo, and for PNG, the decode is the exact one")
    func exactWithoutReduction() throws {
        for file in ["jpeg-large-2400x1800.jpg", "png-rgb-odd-333x517.png"] {
            let bytes = try ImageFixtureManifest.bytes(file)
            let exact = try ImageDecoder.decode(bytes)
            let unreduced = try ImageDecoder.decode(bytes, reducingTo: nil)
            #expect(unreduced.image == exact && unreduced.denominator == 1)
            if file.hasSuffix(".png") {
                let asked = try ImageDecoder.decode(bytes, reducingTo: 10)
                #expect(asked.image == exact && asked.denominator == 1)
            }
        }
    }

    @Test("the pixel limit applies to the full size, not the reduced one")
    func pixelLimitOnFullSize() throws {
        let bytes = try ImageFixtureManifest.bytes("jpeg-large-2400x1800.jpg")
        #expect(throws: CLIPError.self) { try ImageDecoder.decode(bytes, maxPixels: 2400 * 1800 - 1, reducingTo: 448) }
    }
}

extension FastDecodeTests.Expected.Case: CustomTestStringConvertible {
    var testDescription: String { "\(file) ≥\(minShortSide)" }
}
