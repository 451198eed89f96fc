import MultipartKit
import NIOCore

/// multipart/form-data bodies through multipart-kit's streaming parser.
enum Multipart {
    struct Part {
        var name: String?
        var filename: String?
        var contentType: String?
        var body: [UInt8] = []
    }

    /// The `boundary` parameter of a Content-Type header (quoted or not), nil when absent or invalid
    /// (RFC 2046: 1 to 70 characters).
    static func boundary(of contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else { continue }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            return (1...70).contains(value.utf8.count) ? value : nil
        }
        return nil
    }

    /// Every complete part (at most `maxParts`, else 400 `too_many_parts`); a syntax error or a body that ends before the closing boundary is 400
    /// `bad_multipart`.
    static func parse(_ body: [UInt8], boundary: String, maxParts: Int = ServerSettings.maxUploadParts) throws(APIError) -> [Part] {
        guard !hasNonASCIIHeaderName(body, boundary: boundary) else {
            throw APIError(.badRequest, "bad_multipart", "a part's header name holds a byte that is not ASCII")
        }
        let parser = MultipartParser(boundary: boundary)
        var parts: [Part] = []
        var current = Part()
        var finished = false
        parser.onHeader = { name, value in
            switch name.lowercased() {
            case "content-disposition":
                let parameters = dispositionParameters(value)
                current.name = parameters["name"]
                current.filename = parameters["filename"]
            case "content-type":
                current.contentType = value
            default:
                break
            }
        }
        // Past the limit parts are counted, not kept.
        var extraParts = 0
        parser.onBody = { buffer in
            if parts.count < maxParts { current.body.append(contentsOf: buffer.readableBytesView) }
        }
        parser.onPartComplete = {
            if parts.count < maxParts { parts.append(current) } else { extraParts += 1 }
            current = Part()
        }
        do {
            try parser.execute(body)
            // Bytes after the last part's closing delimiter ("--boundary--") are the epilogue; a
            // body that stops inside a part never completes it.
            finished = body.count >= boundary.utf8.count + 4 && containsClosingDelimiter(body, boundary: boundary)
        } catch {
            throw APIError(.badRequest, "bad_multipart", "the multipart body is malformed")
        }
        guard finished else {
            throw APIError(.badRequest, "bad_multipart", "the multipart body ends before its closing boundary --\(boundary)--")
        }
        guard extraParts == 0 else {
            throw APIError(.badRequest, "too_many_parts",
                           "the upload holds \(parts.count + extraParts) parts; at most \(maxParts) per request")
        }
        return parts
    }

    /// multipart-kit 4.7.1 indexes a 128-entry table with each byte of a part's header name, so a
    /// byte from 0x80 up there traps and the process dies (found by Fuzz/FuzzMultipart). This walks
    /// the body through the same states as its `MultipartParser` (preamble, headers, body, boundary)
    /// and says whether the parser would read such a byte as part of a header name. Where the parser
    /// would throw a syntax error, the walk stops: the parser then refuses the body by itself.
    static func hasNonASCIIHeaderName(_ body: [UInt8], boundary: String) -> Bool {
        let delimiter = Array("\r\n--\(boundary)".utf8)
        let cr: UInt8 = 13, lf: UInt8 = 10, colon: UInt8 = 58
        enum State { case preamble(Int), preHeaders(expectingLF: Bool), name(empty: Bool), value, afterValue, afterHeaders, body, boundary(Int), done }
        var state = State.preamble(0)
        var i = 0
        while i < body.count {
            let byte = body[i]
            i += 1
            switch state {
            case .preamble(let matched):
                // The first delimiter may come without its leading CRLF.
                if matched == 0 && byte == delimiter[2] { state = .preamble(3) }
                else if byte == delimiter[matched] { state = .preamble(matched + 1) }
                else if matched > 0 && byte == delimiter[0] { state = .preamble(1) }
                else { state = .preamble(0) }
                if case .preamble(let now) = state, now >= delimiter.count { state = .preHeaders(expectingLF: false) }
            case .preHeaders(let expectingLF):
                // CR then LF, then the first header name.
                if !expectingLF && byte == cr { state = .preHeaders(expectingLF: true) }
                else if expectingLF && byte == lf { state = .name(empty: true) }
                else { state = .done }
            case .name(let empty):
                if byte == colon && !empty { state = .value }
                else if byte == cr && empty { state = .afterHeaders }
                else if byte >= 0x80 { return true }
                else if isHeaderNameByte(byte) { state = .name(empty: false) }
                else { state = .done }
            case .value:
                if byte == cr { state = .afterValue }
            case .afterValue:
                state = byte == lf ? .name(empty: true) : .done
            case .afterHeaders:
                state = byte == lf ? .body : .done
            case .body:
                if byte == delimiter[0] { state = .boundary(1) }
            case .boundary(let matched):
                if matched >= delimiter.count {
                    // The parser's part ends: CR begins the next part's headers, "-" the epilogue.
                    state = byte == cr ? .preHeaders(expectingLF: true) : .done   // "-": the epilogue
                } else if byte == delimiter[matched] { state = .boundary(matched + 1) }
                else { state = byte == delimiter[0] ? .boundary(1) : .body }
            case .done:
                return false
            }
        }
        return false
    }

    /// RFC 822 token characters below 0x80, as multipart-kit's table allows them.
    private static func isHeaderNameByte(_ byte: UInt8) -> Bool {
        byte > 32 && byte < 127 && !tokenSpecials.contains(byte)
    }

    private static let tokenSpecials = Set("()<>@,;:\\\"/[]?={}".utf8)

    private static func containsClosingDelimiter(_ body: [UInt8], boundary: String) -> Bool {
        let needle = Array("--\(boundary)--".utf8)
        guard body.count >= needle.count else { return false }
        // The closing delimiter is near the end (only an epilogue may follow); search from the back.
        var i = body.count - needle.count
        while i >= 0 {
            if body[i] == needle[0], Array(body[i..<i + needle.count]) == needle { return true }
            i -= 1
        }
        return false
    }

    /// `form-data; name="image"; filename="cat.jpg"` → ["name": "image", "filename": "cat.jpg"].
    /// Quoted values may hold `;` and `=`; `\"` escapes are undone.
    static func dispositionParameters(_ value: String) -> [String: String] {
        var result: [String: String] = [:]
        var chars = Substring(value)
        // Skip the disposition type.
        guard let firstSemicolon = chars.firstIndex(of: ";") else { return result }
        chars = chars[chars.index(after: firstSemicolon)...]
        while !chars.isEmpty {
            chars = chars.drop(while: { $0 == " " || $0 == "\t" || $0 == ";" })
            guard let equals = chars.firstIndex(of: "=") else { break }
            let key = chars[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            chars = chars[chars.index(after: equals)...]
            var parsed = ""
            if chars.first == "\"" {
                chars = chars.dropFirst()
                var escaped = false
                while let c = chars.first {
                    chars = chars.dropFirst()
                    if escaped { parsed.append(c); escaped = false }
                    else if c == "\\" { escaped = true }
                    else if c == "\"" { break }
                    else { parsed.append(c) }
                }
            } else {
                let end = chars.firstIndex(of: ";") ?? chars.endIndex
                parsed = chars[..<end].trimmingCharacters(in: .whitespaces)
                chars = chars[end...]
            }
            result[key] = parsed
        }
        return result
    }
}
