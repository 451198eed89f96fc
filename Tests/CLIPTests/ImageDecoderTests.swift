import Foundation
import Testing
import CLIP

// Expected pixels come from tools/make_decoder_fixtures.py: Pillow 13 + transformers' convert_to_rgb
// on ImageOps.exif_transpose(Image.open(file)), i.e. what CLIPImageProcessor sees.

// MARK: - Fixtures

private let fixtureDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()
    .appendingPathComponent("Fixtures/decoder")

private struct DecoderManifest: Decodable {
    struct Entry: Decodable {
        let file: String
        let width: Int
        let height: Int
        let mode: String
    }
    let pillow: String
    let images: [Entry]
}

private func loadManifest() throws -> DecoderManifest {
    let data = try Data(contentsOf: fixtureDirectory.appendingPathComponent("manifest.json"))
    return try JSONDecoder().decode(DecoderManifest.self, from: data)
}

private let manifestEntries: [DecoderManifest.Entry] = (try? loadManifest().images) ?? []

private func fixtureBytes(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: fixtureDirectory.appendingPathComponent(name)))
}

// MARK: - Byte helpers for hand-made bad inputs

/// PNG/zlib CRC-32 (polynomial 0xEDB88320), written here so the huge-IHDR test has a valid CRC.
private func crc32(_ bytes: some Sequence<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

private func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
}

private func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    let typeAndData = Array(type.utf8) + data
    return bigEndian(UInt32(data.count)) + typeAndData + bigEndian(crc32(typeAndData))
}

/// Offset of the first chunk of `type` (its length field) in a PNG.
private func pngChunkOffset(_ png: [UInt8], _ type: String) -> Int? {
    var offset = 8
    let wanted = Array(type.utf8)
    while offset + 8 <= png.count {
        let length = Int(png[offset]) << 24 | Int(png[offset + 1]) << 16 | Int(png[offset + 2]) << 8 | Int(png[offset + 3])
        if Array(png[offset + 4..<offset + 8]) == wanted { return offset }
        offset += 12 + length
    }
    return nil
}

/// Runs `body` and expects exactly `expected`. (No timing assertion: timed tests flake on shared
/// machines. For the huge headers, `tooManyPixels` itself shows the limit fired before decoding.)
private func expectError(_ expected: CLIPError, sourceLocation: SourceLocation = #_sourceLocation,
                         _ body: () throws -> RGBImage) {
    #expect(throws: expected, sourceLocation: sourceLocation) { _ = try body() }
}

/// For corrupt data the codec's message varies; the case and a key phrase are what matter.
private func expectCorrupt(containing phrase: String, sourceLocation: SourceLocation = #_sourceLocation,
                           _ body: () throws -> RGBImage) {
    do {
        let image = try body()
        Issue.record("expected corruptImage, decoded \(image.width)x\(image.height)", sourceLocation: sourceLocation)
    } catch {
        guard case .corruptImage(let message)? = error as? CLIPError else {
            Issue.record("expected corruptImage, got \(error)", sourceLocation: sourceLocation)
            return
        }
        #expect(message.localizedCaseInsensitiveContains(phrase), "message: \(message)", sourceLocation: sourceLocation)
    }
}

@Suite struct ImageDecoderTests {
    // MARK: - Parity with the reference decode

    @Test func manifestCoversEveryCase() throws {
        let names = Set(try loadManifest().images.map(\.file))
        #expect(names.count >= 40)
        for required in ["jpeg_progressive.jpg", "jpeg_gray.jpg", "jpeg_cmyk.jpg", "jpeg_444.jpg",
                         "jpeg_corrupt_but_decodable.jpg", "png_gray1.png", "png_gray2.png", "png_gray4.png",
                         "png_gray16.png", "png_graya8.png", "png_rgba8.png", "png_rgb16.png",
                         "png_palette_trns.png", "png_rgb8_interlaced.png"]
            + (1...8).map({ "jpeg_exif_orientation_\($0).jpg" }) {
            #expect(names.contains(required), "missing fixture \(required)")
        }
    }

    @Test(arguments: manifestEntries.map(\.file))
    func matchesReferenceDecode(file: String) throws {
        let entry = try #require(manifestEntries.first { $0.file == file })
        let expected = try fixtureBytes(file + ".rgb")
        let image = try ImageDecoder.decode(fixtureBytes(file))
        #expect(image.width == entry.width && image.height == entry.height,
                "\(file): \(image.width)x\(image.height), reference \(entry.width)x\(entry.height)")
        try #require(image.pixels.count == expected.count)
        var maxDifference = 0
        var differing = 0
        for (ours, theirs) in zip(image.pixels, expected) where ours != theirs {
            differing += 1
            maxDifference = max(maxDifference, abs(Int(ours) - Int(theirs)))
        }
        // PNG decoding is exact integer arithmetic; libjpeg-turbo 2.1.5 (ours) and 3.x (Pillow's)
        // implement the same ISLOW IDCT and fancy upsampling, so JPEG is expected exact as well.
        #expect(differing == 0, "\(file): \(differing) bytes differ, max difference \(maxDifference)")
    }

    @Test func decodesFromFileURL() throws {
        let url = fixtureDirectory.appendingPathComponent("png_rgb8.png")
        let fromFile = try ImageDecoder.decode(contentsOf: url)
        let fromBytes = try ImageDecoder.decode(fixtureBytes("png_rgb8.png"))
        #expect(fromFile == fromBytes)
    }

    @Test func pixelLimitIsConfigurable() throws {
        let bytes = try fixtureBytes("jpeg_baseline_420.jpg")  // 29x21 = 609 pixels
        expectError(.tooManyPixels(width: 29, height: 21, limit: 608)) {
            try ImageDecoder.decode(bytes, maxPixels: 608)
        }
        let image = try ImageDecoder.decode(bytes, maxPixels: 609)
        #expect(image.width == 29 && image.height == 21)
        #expect(ImageDecoder.defaultMaxPixels == 64_000_000)
    }

    /// The limit applies to the stored size; a rotated image has the same pixel count.
    @Test func pixelLimitUsesHeaderBeforeOrientation() throws {
        let bytes = try fixtureBytes("jpeg_exif_orientation_6.jpg")  // stored 24x16
        expectError(.tooManyPixels(width: 24, height: 16, limit: 100)) {
            try ImageDecoder.decode(bytes, maxPixels: 100)
        }
    }

    // MARK: - Bad input

    @Test func zeroBytes() {
        expectError(.emptyImage) { try ImageDecoder.decode([]) }
    }

    @Test func randomBytes() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let bytes = (0..<4096).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        expectError(.notAnImage) { try ImageDecoder.decode(bytes) }
    }

    @Test func textFileBytes() {
        let text = Array("A text file is not an image.\nSecond line, still not one.\n".utf8)
        expectError(.notAnImage) { try ImageDecoder.decode(text) }
    }

    @Test func otherImageFormatIsUnsupported() {
        let gif = Array("GIF89a".utf8) + [1, 0, 1, 0, 0, 0, 0, 0x3B]
        expectError(.unsupportedImage("GIF (only JPEG and PNG are decoded)")) { try ImageDecoder.decode(gif) }
    }

    @Test func jpegMagicAlone() {
        expectCorrupt(containing: "truncated") { try ImageDecoder.decode([0xFF, 0xD8, 0xFF]) }
    }

    @Test func jpegCutInHalf() throws {
        let bytes = try fixtureBytes("jpeg_baseline_420_64x48.jpg")
        expectCorrupt(containing: "truncated") { try ImageDecoder.decode(Array(bytes.prefix(bytes.count / 2))) }
    }

    @Test func progressiveJPEGCutInHalf() throws {
        let bytes = try fixtureBytes("jpeg_progressive.jpg")
        expectCorrupt(containing: "truncated") { try ImageDecoder.decode(Array(bytes.prefix(bytes.count / 2))) }
    }

    /// Pillow raises "image file is truncated" even when only the final EOI marker is missing.
    @Test func jpegWithoutEndMarker() throws {
        let bytes = try fixtureBytes("jpeg_baseline_420.jpg")
        #expect(Array(bytes.suffix(2)) == [0xFF, 0xD9])
        expectCorrupt(containing: "truncated") { try ImageDecoder.decode(Array(bytes.dropLast(2))) }
    }

    @Test func jpegWithBrokenHuffmanTable() throws {
        var bytes = try fixtureBytes("jpeg_baseline_420.jpg")
        let dht = try #require(bytes.indices.dropLast().first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC4 })
        // Counts of codes per length far beyond what 16 bits allow.
        for i in 5..<21 { bytes[dht + i] = 0xFF }
        expectCorrupt(containing: "huffman") { try ImageDecoder.decode(bytes) }
    }

    /// Hundreds of repeated scans (libjpeg only warns about the bogus progression) would each cost a
    /// pass over the image; the decoder stops at 500.
    @Test func progressiveJPEGWithTooManyScans() throws {
        let bytes = try fixtureBytes("jpeg_progressive.jpg")
        let sos = try #require(bytes.indices.dropLast().first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xDA })
        var end = sos + 2 + (Int(bytes[sos + 2]) << 8 | Int(bytes[sos + 3]))
        // Entropy-coded data runs to the next marker other than a stuffed 00 or a restart marker.
        while !(bytes[end] == 0xFF && bytes[end + 1] != 0x00 && !(0xD0...0xD7).contains(bytes[end + 1])) { end += 1 }
        let scan = bytes[sos..<end]
        var crafted = Array(bytes[..<end])
        for _ in 0..<600 { crafted += scan }
        crafted += bytes[end...]
        expectError(.corruptImage("JPEG has more than 500 scans")) { try ImageDecoder.decode(crafted) }
    }

    @Test func jpegHeaderAnnouncingHugeSize() throws {
        var bytes = try fixtureBytes("jpeg_baseline_420.jpg")
        let sof = try #require(bytes.indices.dropLast().first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
        // SOF0: FF C0, length (2), precision (1), height (2), width (2).
        bytes[sof + 5] = 0xEA; bytes[sof + 6] = 0x60  // 60000
        bytes[sof + 7] = 0xEA; bytes[sof + 8] = 0x60
        expectError(.tooManyPixels(width: 60000, height: 60000, limit: ImageDecoder.defaultMaxPixels)) {
            try ImageDecoder.decode(bytes)
        }
    }

    @Test func pngCutInHalf() throws {
        let bytes = try fixtureBytes("png_rgb8.png")
        expectCorrupt(containing: "truncated") { try ImageDecoder.decode(Array(bytes.prefix(bytes.count / 2))) }
    }

    /// A flipped bit inside IDAT: zlib (or, failing that, the chunk CRC) rejects it.
    @Test func pngWithFlippedIDATByte() throws {
        var bytes = try fixtureBytes("png_rgb8.png")
        let idat = try #require(pngChunkOffset(bytes, "IDAT"))
        bytes[idat + 8 + 10] ^= 0x01  // one data byte; the stored CRC no longer matches
        expectCorrupt(containing: "IDAT") { try ImageDecoder.decode(bytes) }
    }

    /// Intact pixel data with a wrong IDAT CRC must still be an error (Pillow does not check it).
    @Test func pngWithBadIDATCRC() throws {
        var bytes = try fixtureBytes("png_rgb8.png")
        let idat = try #require(pngChunkOffset(bytes, "IDAT"))
        let length = Int(bytes[idat]) << 24 | Int(bytes[idat + 1]) << 16 | Int(bytes[idat + 2]) << 8 | Int(bytes[idat + 3])
        bytes[idat + 8 + length] ^= 0x01  // first CRC byte
        expectCorrupt(containing: "CRC") { try ImageDecoder.decode(bytes) }
    }

    @Test func pngWithBadIHDRCRC() throws {
        var bytes = try fixtureBytes("png_rgb8.png")
        bytes[8 + 8 + 3] ^= 0x01  // width's low byte
        expectCorrupt(containing: "CRC") { try ImageDecoder.decode(bytes) }
    }

    @Test func pngHeaderAnnouncingHugeSize() {
        let ihdr = bigEndian(60000) + bigEndian(60000) + [8, 2, 0, 0, 0]  // 8-bit RGB
        let idat = pngChunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + pngChunk("IHDR", ihdr) + idat + pngChunk("IEND", [])
        expectError(.tooManyPixels(width: 60000, height: 60000, limit: ImageDecoder.defaultMaxPixels)) {
            try ImageDecoder.decode(png)
        }
    }

    @Test func pngSignatureAlone() {
        expectCorrupt(containing: "truncated") {
            try ImageDecoder.decode([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        }
    }

    @Test func missingFile() {
        let path = fixtureDirectory.appendingPathComponent("no-such-image.jpg").path
        expectError(.unreadableFile(path: path, reason: "No such file or directory")) {
            try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: path))
        }
    }

    @Test func nonImageFileIsRejectedFromItsFirstBytes() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("clip-decoder-\(UUID().uuidString).mp4")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(repeating: 0x42, count: 1 << 20).write(to: url)
        expectError(.notAnImage) { try ImageDecoder.decode(contentsOf: url) }
        try (Data([0xFF, 0xD8, 0xFF]) + Data(repeating: 0, count: 100)).write(to: url)
        expectCorrupt(containing: "truncated") { try ImageDecoder.decode(contentsOf: url) }
    }

    @Test func directoryIsNotAnImageFile() {
        expectError(.unreadableFile(path: fixtureDirectory.path, reason: "not a regular file")) {
            try ImageDecoder.decode(contentsOf: fixtureDirectory)
        }
    }
}
