import CImageCodecs
import Foundation

/// The keywords a photo carries: the items of XMP `dc:subject` (what Lightroom, digiKam, darktable
/// and Photos write as tags), read from the JPEG/PNG container without decoding. IPTC-IIM keywords
/// (APP13) are not read. At most `maxCount` keywords of at most `maxLength` characters each.
public enum PhotoKeywords {
    public static let maxCount = 200
    public static let maxLength = 200
    /// XMP packets larger than this are not searched (a JPEG segment holds at most 64 KiB anyway).
    static let maxPacketBytes = 1 << 20

    public static func keywords(in bytes: [UInt8]) -> [String] {
        var offset = 0, length = 0
        let found = bytes.withUnsafeBufferPointer { clip_photo_xmp($0.baseAddress, $0.count, &offset, &length) }
        guard found == 1, length > 0, length <= maxPacketBytes, offset + length <= bytes.count else { return [] }
        return subjects(in: bytes[offset..<(offset + length)])
    }

    /// The `<rdf:li>` items inside `<dc:subject>...</dc:subject>`, XML entities decoded.
    static func subjects(in packet: ArraySlice<UInt8>) -> [String] {
        guard let open = find(Array("<dc:subject".utf8), in: packet, from: packet.startIndex),
              let close = find(Array("</dc:subject>".utf8), in: packet, from: open) else { return [] }
        let body = packet[open..<close]
        var keywords: [String] = []
        var at = body.startIndex
        let itemOpen = Array("<rdf:li".utf8), itemClose = Array("</rdf:li>".utf8)
        while keywords.count < maxCount, let start = find(itemOpen, in: body, from: at),
              let tagEnd = body[start...].firstIndex(of: UInt8(ascii: ">")),
              let end = find(itemClose, in: body, from: tagEnd) {
            at = end + itemClose.count
            // `<rdf:li/>` (self-closing) holds nothing.
            guard body[tagEnd - 1] != UInt8(ascii: "/") else { continue }
            let text = unescape(String(decoding: body[(tagEnd + 1)..<end], as: UTF8.self))
                .trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { keywords.append(String(text.prefix(maxLength))) }
        }
        return keywords
    }

    private static func find(_ needle: [UInt8], in haystack: ArraySlice<UInt8>, from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.endIndex - start >= needle.count else { return nil }
        var i = start
        while i <= haystack.endIndex - needle.count {
            if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    /// `&amp;` `&lt;` `&gt;` `&quot;` `&apos;` and numeric references; anything else is left as is.
    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].prefix(12).firstIndex(of: ";") else {
                out += "&"
                rest = rest[rest.index(after: amp)...]
                continue
            }
            let name = rest[rest.index(after: amp)..<semi]
            let named: [Substring: String] = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'"]
            if let value = named[name] {
                out += value
            } else if name.hasPrefix("#"), let scalar = numericScalar(name.dropFirst()) {
                out.unicodeScalars.append(scalar)
            } else {
                out += rest[amp...semi]
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }

    private static func numericScalar(_ digits: Substring) -> Unicode.Scalar? {
        let value = digits.hasPrefix("x") || digits.hasPrefix("X") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits)
        return value.flatMap(Unicode.Scalar.init)
    }
}
