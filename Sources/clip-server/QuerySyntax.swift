/// rclip's query syntax for `clip-server search` (rclip's `helpers.py` and `model.py`):
///
///     clip-server search "2:golden retriever" + ./pool.jpg - fruit
///
/// - The arguments are queries joined by `+` (add) or `-` (subtract); the first has no operator.
///   (`--add Q`/`-a Q` and `--subtract Q`/`--sub Q`/`-s Q` add or subtract one more, as in rclip.)
/// - A query may start with a multiplier and a colon: `2:cat`, `0.5:./sleeping.jpg`, `.5:dog`, `2.:dog`
///   (digits with an optional fraction; no sign: subtracting is what `-` is for). Without one the
///   weight is 1. Only the first colon counts, so `1:12:30 sunset` is the text `12:30 sunset`.
/// - What follows is an image file when it starts with `/`, `./`, `file://` (removed) or a Windows
///   drive (`C:\`); a URL when it starts with `http://` or `https://`; otherwise a text. A relative
///   path without `./` is a text, as in rclip.
///
/// The query vector is the sum of each part's unit embedding times its weight (negative after `-`),
/// renormalized: what `POST /search` does with `queries`. A plain text is one part of weight 1.
enum QuerySyntax {
    enum Source: Equatable {
        case text(String)
        case image(path: String)
        /// rclip downloads these; this command works offline and refuses them.
        case url(String)
    }

    struct Part: Equatable {
        var source: Source
        var weight: Float
    }

    enum ParseError: Error, Equatable, CustomStringConvertible {
        case noQuery
        case emptyQuery(position: Int)
        case operatorWithoutQuery(String)
        case missingOperator(before: String)
        case leadingOperator(String)

        var description: String {
            switch self {
            case .noQuery:
                return "give a query: a text, an image path (./photo.jpg), or several joined by + and -"
            case .emptyQuery(let position):
                return "query \(position) is empty"
            case .operatorWithoutQuery(let op):
                return "\"\(op)\" at the end must be followed by a query"
            case .missingOperator(let before):
                return "put + or - before \"\(before)\" (queries are joined by + and -; quote a text with spaces)"
            case .leadingOperator(let op):
                return "the first query comes before any \"\(op)\""
            }
        }
    }

    /// The parts of `arguments` (in order), then `added` and `subtracted`.
    static func parse(_ arguments: [String], added: [String] = [], subtracted: [String] = []) throws(ParseError) -> [Part] {
        var parts: [Part] = []
        var pending: String?   // the operator before the next query
        for argument in arguments {
            if argument == "+" || argument == "-" {
                if parts.isEmpty { throw .leadingOperator(argument) }
                if pending != nil { throw .operatorWithoutQuery(pending!) }
                pending = argument
                continue
            }
            if !parts.isEmpty && pending == nil { throw .missingOperator(before: argument) }
            parts.append(try part(argument, sign: pending == "-" ? -1 : 1, position: parts.count + 1))
            pending = nil
        }
        if let pending { throw .operatorWithoutQuery(pending) }
        for query in added { parts.append(try part(query, sign: 1, position: parts.count + 1)) }
        for query in subtracted { parts.append(try part(query, sign: -1, position: parts.count + 1)) }
        if parts.isEmpty { throw .noQuery }
        return parts
    }

    /// One query: an optional `N:` multiplier, then an image path, a URL or a text.
    static func part(_ query: String, sign: Float, position: Int) throws(ParseError) -> Part {
        var weight: Float = 1
        var rest = Substring(query)
        if let colon = rest.firstIndex(of: ":"), let multiplier = multiplier(rest[..<colon]), rest.index(after: colon) < rest.endIndex {
            weight = multiplier
            rest = rest[rest.index(after: colon)...]
        }
        guard !rest.allSatisfy(\.isWhitespace) else { throw .emptyQuery(position: position) }
        return Part(source: source(String(rest)), weight: sign * weight)
    }

    /// `\d+(\.\d+)?`, `\.\d+` or `\d+\.` as a number; nil for anything else.
    static func multiplier(_ text: Substring) -> Float? {
        let pieces = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let digits: (Substring) -> Bool = { $0.allSatisfy { $0.isASCII && $0.isNumber } }
        guard pieces.allSatisfy(digits), pieces.contains(where: { !$0.isEmpty }), text.filter({ $0 == "." }).count <= 1 else {
            return nil
        }
        return Float(pieces.count == 2 && pieces[0].isEmpty ? "0" + text : text + (text.hasSuffix(".") ? "0" : ""))
    }

    static func source(_ query: String) -> Source {
        if query.hasPrefix("http://") || query.hasPrefix("https://") { return .url(query) }
        if query.hasPrefix("file://") { return .image(path: String(query.dropFirst("file://".count))) }
        if query.hasPrefix("/") || query.hasPrefix("./") || isWindowsAbsolute(query) { return .image(path: query) }
        return .text(query)
    }

    /// `C:\...` (rclip accepts Windows absolute paths the same way).
    private static func isWindowsAbsolute(_ query: String) -> Bool {
        let scalars = Array(query.unicodeScalars.prefix(3))
        return scalars.count == 3 && scalars[0].isASCII && scalars[0].properties.isAlphabetic && scalars[1] == ":" && scalars[2] == "\\"
    }
}
