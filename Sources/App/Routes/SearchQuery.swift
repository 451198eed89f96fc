import Foundation
import Hummingbird
import LibraryStore

/// The request of `POST /search` (JSON) and `GET /search` (query items), parsed and checked.
extension SearchRoutes {
    /// A parsed query: exactly one of `text`, `image` bytes, `imageID`, `parts` (`queries`).
    struct Query {
        var text: String?
        var image: [UInt8]?
        var imageID: Int64?
        var parts: [Part] = []
        var negative: [String] = []
        var k = 10
        var offset = 0
        var minScore: Float?
        var autocut: Int?
        /// `after` / `before` / `folder`: which rows may be returned (applied inside the ranking).
        var filter = ImageFilter()
        var sort: Sort = .relevance
        /// Also rank by the query's words in file and folder names and keywords.
        var hybrid = false

        /// The words `hybrid` looks for: those of the text, or of the positive text parts.
        var words: [String] {
            let texts = parts.isEmpty ? [text].compactMap { $0 } : parts.filter { $0.weight > 0 }.compactMap(\.text)
            var seen = Set<String>()
            return texts.flatMap { text in
                text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
            }.filter { $0.count >= 2 && seen.insert($0).inserted }
        }
    }

    /// The order of the results that survive k, min_score and autocut.
    enum Sort: String, CaseIterable {
        case relevance
        case dateDesc = "date_desc"
        case dateAsc = "date_asc"
    }

    /// One weighted part of `queries`: exactly one of its text, image or stored image.
    struct Part {
        var text: String?
        var image: [UInt8]?
        var imageID: Int64?
        var weight: Float = 1
    }

    static let maxQueryParts = 16
    static let autocutRange = 1...10

    // MARK: - Parsing

    static func parse(json bytes: [UInt8]) throws(APIError) -> Query {
        var reader = try JSONObjectReader(bytes: bytes)
        var query = Query()
        query.text = try reader.string("text")
        if let base64 = try reader.string("image") {
            query.image = try decodeBase64(base64, field: "image")
        }
        if let id = try reader.int("image_id", in: 1...ServerSettings.maxJSONInteger) { query.imageID = Int64(id) }
        query.negative = try reader.strings("negative") ?? []
        query.k = try reader.int("k", in: 1...ServerSettings.maxK) ?? 10
        query.offset = try reader.int("offset", in: 0...ServerSettings.maxOffset) ?? 0
        query.minScore = try reader.double("min_score").map(Float.init)
        query.autocut = try reader.int("autocut", in: autocutRange)
        if let after = try reader.string("after") { query.filter.takenAfter = try date(after, field: "after") }
        if let before = try reader.string("before") { query.filter.takenBefore = try date(before, field: "before") }
        if let folder = try reader.string("folder") { query.filter.folder = try folderPath(folder) }
        if let sort = try reader.string("sort") { query.sort = try sortOrder(sort) }
        query.hybrid = try reader.bool("hybrid") ?? false
        if let parts = try reader.objects("queries") {
            guard (1...maxQueryParts).contains(parts.count) else {
                throw APIError.invalidField("\"queries\" holds \(parts.count) parts; 1 to \(maxQueryParts)")
            }
            query.parts = try parts.enumerated().map { i, part throws(APIError) in try parsePart(part, index: i) }
        }
        try reader.finish()
        try validate(query)
        return query
    }

    private static func parsePart(_ reader: JSONObjectReader, index: Int) throws(APIError) -> Part {
        var reader = reader
        var part = Part()
        part.text = try reader.string("text")
        if let base64 = try reader.string("image") { part.image = try decodeBase64(base64, field: "queries[\(index)].image") }
        part.imageID = try reader.int("image_id", in: 1...ServerSettings.maxJSONInteger).map(Int64.init)
        if let weight = try reader.double("weight") {
            guard abs(weight) <= 100 else { throw APIError.invalidField("\"queries[\(index)].weight\" must be between -100 and 100") }
            part.weight = Float(weight)
        }
        try reader.finish()
        let given = [part.text != nil, part.image != nil, part.imageID != nil].filter { $0 }.count
        guard given == 1 else {
            throw APIError(.badRequest, "invalid_query", "queries[\(index)] must give exactly one of \"text\", \"image\" or \"image_id\"")
        }
        try checkTextLengths(part.text.map { [$0] } ?? [], field: "queries[\(index)].text")
        return part
    }

    static func parse(queryItems: [(name: String, value: String)]) throws(APIError) -> Query {
        var query = Query()
        for (name, value) in queryItems {
            switch name {
            case "q", "text":
                guard query.text == nil else { throw APIError(.badRequest, "invalid_query", "give the text once, as \"q\" or \"text\"") }
                query.text = value
            case "image_id":
                guard let id = Int64(value), id > 0 else { throw APIError.invalidField("\"image_id\" must be a positive integer, got \"\(value)\"") }
                query.imageID = id
            case "negative": query.negative.append(value)
            case "k": query.k = try intParameter("k", value, in: 1...ServerSettings.maxK)
            case "offset": query.offset = try intParameter("offset", value, in: 0...ServerSettings.maxOffset)
            case "min_score":
                // Any finite number, as in the JSON body (beyond Float's range it rounds to ±infinity).
                guard let score = Double(value), score.isFinite else { throw APIError.invalidField("\"min_score\" must be a number, got \"\(value)\"") }
                query.minScore = Float(score)
            case "autocut": query.autocut = try intParameter("autocut", value, in: autocutRange)
            case "after": query.filter.takenAfter = try date(value, field: "after")
            case "before": query.filter.takenBefore = try date(value, field: "before")
            case "folder": query.filter.folder = try folderPath(value)
            case "sort": query.sort = try sortOrder(value)
            case "hybrid":
                guard let flag = ["true": true, "1": true, "false": false, "0": false][value] else {
                    throw APIError.invalidField("\"hybrid\" must be true or false, got \"\(value.prefix(20))\"")
                }
                query.hybrid = flag
            default:
                throw APIError(.badRequest, "unknown_field", "unknown query parameter \"\(name)\"; expected q, image_id, negative, k, offset, min_score, autocut, after, before, folder, sort, hybrid")
            }
        }
        try validate(query)
        return query
    }

    static func intParameter(_ name: String, _ value: String, in range: ClosedRange<Int>) throws(APIError) -> Int {
        guard let int = Int(value) else { throw APIError.invalidField("\"\(name)\" must be an integer, got \"\(value)\"") }
        guard range.contains(int) else {
            throw APIError.invalidField("\"\(name)\" must be between \(range.lowerBound) and \(range.upperBound), got \(int)")
        }
        return int
    }

    private static func date(_ text: String, field: String) throws(APIError) -> Date {
        guard let date = APIDate.parse(text) else {
            throw APIError.invalidField("\"\(field)\" must be an ISO 8601 date or date-time (2024-05-01, 2024-05-01T12:00:00Z), got \"\(text.prefix(60))\"")
        }
        return date
    }

    private static func folderPath(_ text: String) throws(APIError) -> String {
        guard text.hasPrefix("/"), text.unicodeScalars.count <= 4096, !text.utf8.contains(0) else {
            throw APIError.invalidField("\"folder\" must be an absolute path (a prefix of the results' source), got \"\(text.prefix(60))\"")
        }
        return text
    }

    private static func sortOrder(_ text: String) throws(APIError) -> Sort {
        guard let sort = Sort(rawValue: text) else {
            throw APIError.invalidField("\"sort\" must be one of \(Sort.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text.prefix(60))\"")
        }
        return sort
    }

    private static func validate(_ query: Query) throws(APIError) {
        let given = [query.text != nil, query.image != nil, query.imageID != nil, !query.parts.isEmpty].filter { $0 }.count
        guard given == 1 else {
            throw APIError(.badRequest, "invalid_query", given == 0
                ? "give exactly one of \"text\" (q), \"image\", \"image_id\" or \"queries\"; none was given"
                : "give exactly one of \"text\" (q), \"image\", \"image_id\" or \"queries\"; \(given) were given")
        }
        guard query.negative.count <= ServerSettings.maxTexts else {
            throw APIError.invalidField("\"negative\" holds \(query.negative.count) texts; at most \(ServerSettings.maxTexts)")
        }
        try checkTextLengths(query.text.map { [$0] } ?? [], field: "text")
        try checkTextLengths(query.negative, field: "negative")
    }

}
