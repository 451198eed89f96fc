import Foundation
import Testing
@testable import CLIP

let photoDates = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/photo-metadata")

/// EXIF DateTimeOriginal against the instants Python's datetime computed for the same files
/// (tools/make_photo_date_fixtures.py wrote them with Pillow).
@Suite("PhotoDate")
struct PhotoDateTests {
    static let expected: [String: Double?] = {
        let data = try! Data(contentsOf: photoDates.appendingPathComponent("expected.json"))
        return try! JSONDecoder().decode([String: Double?].self, from: data)
    }()

    @Test(arguments: expected.keys.sorted())
    func matchesPython(_ name: String) throws {
        let bytes = [UInt8](try Data(contentsOf: photoDates.appendingPathComponent(name)))
        let taken = PhotoDate.taken(in: bytes)
        #expect(taken?.timeIntervalSince1970 == Self.expected[name]!)
    }

    @Test func refusesImpossibleValues() {
        #expect(PhotoDate.parse("2024:13:01 00:00:00") == nil)
        #expect(PhotoDate.parse("2024:01:01 24:00:00") == nil)
        #expect(PhotoDate.parse("2024:01:01 00:00:00+15:00") == nil)
        #expect(PhotoDate.parse("2024-01-01 00:00:00") == nil)
        #expect(PhotoDate.parse("2024:02:29 12:00:00")?.timeIntervalSince1970 == 1_709_208_000)
    }

    /// Truncating the file anywhere never reads past the end (the C reader checks every offset).
    @Test func truncatedCopiesAreSafe() throws {
        let bytes = [UInt8](try Data(contentsOf: photoDates.appendingPathComponent("jpeg-original-offset.jpg")))
        for length in 0..<bytes.count {
            let taken = PhotoDate.taken(in: Array(bytes.prefix(length)))
            #expect(taken == nil || taken?.timeIntervalSince1970 == Self.expected["jpeg-original-offset.jpg"]!)
        }
        #expect(PhotoDate.taken(in: []) == nil)
    }
}

/// XMP dc:subject keywords against what Python's ElementTree reads from the same packets.
@Suite("PhotoKeywords")
struct PhotoKeywordsTests {
    static let expected: [String: [String]] = {
        let data = try! Data(contentsOf: photoDates.appendingPathComponent("expected-keywords.json"))
        return try! JSONDecoder().decode([String: [String]].self, from: data)
    }()

    @Test(arguments: expected.keys.sorted())
    func matchesElementTree(_ name: String) throws {
        let bytes = [UInt8](try Data(contentsOf: photoDates.appendingPathComponent(name)))
        #expect(PhotoKeywords.keywords(in: bytes) == Self.expected[name]!)
    }

    @Test func truncatedCopiesAreSafe() throws {
        let bytes = [UInt8](try Data(contentsOf: photoDates.appendingPathComponent("jpeg-xmp-keywords.jpg")))
        for length in stride(from: 0, to: bytes.count, by: 3) {
            let found = PhotoKeywords.keywords(in: Array(bytes.prefix(length)))
            #expect(found.isEmpty || found == Self.expected["jpeg-xmp-keywords.jpg"]!)
        }
    }

    @Test func entities() {
        #expect(PhotoKeywords.unescape("a &amp; b &lt;c&gt; &#65;&#x42; &bogus; & end") == "a & b <c> AB &bogus; & end")
    }
}
