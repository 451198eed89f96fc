import Foundation

/// A parsed JSON document, so request bodies can be checked field by field with messages that name
/// the field (`"k" must be an integer`), and unknown fields rejected instead of silently ignored.
enum JSONValue: Decodable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Name of the JSON type, for messages.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// Reads the fields of one JSON object body. Every accessor throws `APIError` 400 naming the field;
/// `finish()` rejects fields no accessor asked for.
struct JSONObjectReader {
    private let fields: [String: JSONValue]
    private var seen: Set<String> = []

    /// Parses `bytes` as a JSON object; malformed JSON is 400 `bad_json`.
    init(bytes: [UInt8]) throws(APIError) {
        guard !bytes.isEmpty else { throw APIError(.badRequest, "bad_json", "the request body is empty; a JSON object is expected") }
        // Our bodies nest 3 deep at most and no list is longer than maxJSONArrayElements; one linear
        // scan refuses more before the decoder builds a tree of it (2,000,000 labels took 3 s).
        let shape = JSONObjectReader.shape(bytes)
        guard shape.depth <= JSONObjectReader.maxDepth else {
            throw APIError(.badRequest, "bad_json", "the JSON body nests deeper than \(JSONObjectReader.maxDepth) levels")
        }
        guard shape.longestArray <= ServerSettings.maxJSONArrayElements else {
            throw APIError(.badRequest, "too_many_items",
                           "a JSON array in the body holds more than \(ServerSettings.maxJSONArrayElements) items")
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw APIError(.badRequest, "bad_json", "the request body is not valid JSON")
        }
        guard case .object(let fields) = value else {
            throw APIError(.badRequest, "bad_json", "the request body must be a JSON object, got \(value.typeName)")
        }
        self.fields = fields
    }

    private mutating func field(_ name: String) -> JSONValue? {
        seen.insert(name)
        guard let value = fields[name] else { return nil }
        if case .null = value { return nil }
        return value
    }

    mutating func has(_ name: String) -> Bool { field(name) != nil }

    /// The field as it is (any JSON type), for fields a client may send in more than one type.
    mutating func value(_ name: String) -> JSONValue? { field(name) }

    mutating func bool(_ name: String) throws(APIError) -> Bool? {
        guard let value = field(name) else { return nil }
        guard case .bool(let bool) = value else { throw wrongType(name, "a boolean", value) }
        return bool
    }

    /// An array of finite numbers.
    mutating func numbers(_ name: String) throws(APIError) -> [Double]? {
        guard let value = field(name) else { return nil }
        guard case .array(let items) = value else { throw wrongType(name, "an array of numbers", value) }
        var numbers: [Double] = []
        for (i, item) in items.enumerated() {
            guard case .number(let number) = item, number.isFinite else { throw wrongType("\(name)[\(i)]", "a number", item) }
            numbers.append(number)
        }
        return numbers
    }

    mutating func string(_ name: String) throws(APIError) -> String? {
        guard let value = field(name) else { return nil }
        guard case .string(let string) = value else { throw wrongType(name, "a string", value) }
        return string
    }

    mutating func strings(_ name: String) throws(APIError) -> [String]? {
        guard let value = field(name) else { return nil }
        guard case .array(let items) = value else { throw wrongType(name, "an array of strings", value) }
        var strings: [String] = []
        for (i, item) in items.enumerated() {
            guard case .string(let string) = item else { throw wrongType("\(name)[\(i)]", "a string", item) }
            strings.append(string)
        }
        return strings
    }

    /// The object's field names, sorted (for objects keyed by the client's names).
    var fieldNames: [String] { fields.keys.sorted() }

    /// An object field as its own reader.
    mutating func object(_ name: String) throws(APIError) -> JSONObjectReader? {
        guard let value = field(name) else { return nil }
        guard case .object(let fields) = value else { throw wrongType(name, "an object", value) }
        return JSONObjectReader(fields: fields)
    }

    /// An array of objects, each handed out as its own reader (named `name[i]` in messages).
    mutating func objects(_ name: String) throws(APIError) -> [JSONObjectReader]? {
        guard let value = field(name) else { return nil }
        guard case .array(let items) = value else { throw wrongType(name, "an array of objects", value) }
        var readers: [JSONObjectReader] = []
        for (i, item) in items.enumerated() {
            guard case .object(let fields) = item else { throw wrongType("\(name)[\(i)]", "an object", item) }
            readers.append(JSONObjectReader(fields: fields))
        }
        return readers
    }

    private init(fields: [String: JSONValue]) {
        self.fields = fields
    }

    /// An integer within `range` (a JSON number with no fractional part).
    mutating func int(_ name: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let value = field(name) else { return nil }
        guard case .number(let number) = value else { throw wrongType(name, "an integer", value) }
        guard number.rounded() == number else { throw wrongType(name, "an integer", value) }
        guard number >= Double(range.lowerBound), number <= Double(range.upperBound), let int = Int(exactly: number) else {
            throw APIError.invalidField("\"\(name)\" must be between \(range.lowerBound) and \(range.upperBound), got \(JSONObjectReader.format(number))")
        }
        return int
    }

    mutating func double(_ name: String) throws(APIError) -> Double? {
        guard let value = field(name) else { return nil }
        guard case .number(let number) = value, number.isFinite else { throw wrongType(name, "a number", value) }
        return number
    }

    /// Rejects fields that no accessor read.
    func finish() throws(APIError) {
        let unknown = fields.keys.filter { !seen.contains($0) }.sorted()
        if !unknown.isEmpty {
            throw APIError(.badRequest, "unknown_field",
                           "unknown field\(unknown.count > 1 ? "s" : "") \(unknown.map { "\"\($0)\"" }.joined(separator: ", ")); expected \(seen.sorted().map { "\"\($0)\"" }.joined(separator: ", "))")
        }
    }

    func wrongType(_ name: String, _ expected: String, _ value: JSONValue) -> APIError {
        APIError.invalidField("\"\(name)\" must be \(expected), got \(value.typeName)")
    }

    static let maxDepth = 16

    /// Deepest `[`/`{` nesting and the most elements of any one array, outside strings (a linear
    /// scan; the JSON need not be valid; an array's count is its commas plus one).
    static func shape(_ bytes: [UInt8]) -> (depth: Int, longestArray: Int) {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        // Per open bracket: whether it is an array, and its commas so far.
        var open: [(isArray: Bool, commas: Int)] = []
        var longest = 0
        for byte in bytes {
            if inString {
                if escaped { escaped = false }
                else if byte == UInt8(ascii: "\\") { escaped = true }
                else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                deepest = max(deepest, depth)
                if depth > maxDepth { return (deepest, longest) }   // refused anyway
                open.append((byte == UInt8(ascii: "["), 0))
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
                if !open.isEmpty { open.removeLast() }
            case UInt8(ascii: ","):
                if !open.isEmpty, open[open.count - 1].isArray {
                    open[open.count - 1].commas += 1
                    longest = max(longest, open[open.count - 1].commas + 1)
                }
            default: break
            }
        }
        return (deepest, longest)
    }

    static func format(_ number: Double) -> String {
        if let int = Int(exactly: number) { return String(int) }
        return String(number)
    }
}
