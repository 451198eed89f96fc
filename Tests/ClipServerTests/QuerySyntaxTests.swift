import Testing

@testable import clip_server

/// rclip's query syntax as `clip-server search` reads it.
@Suite struct QuerySyntaxTests {
    typealias Part = QuerySyntax.Part

    @Test func rclipsExample() throws {
        let parts = try QuerySyntax.parse(["2:golden retriever", "+", "./pool.jpg", "-", "fruit"])
        #expect(parts == [Part(source: .text("golden retriever"), weight: 2),
                          Part(source: .image(path: "./pool.jpg"), weight: 1),
                          Part(source: .text("fruit"), weight: -1)])
    }

    @Test func aPlainTextIsOnePartOfWeightOne() throws {
        #expect(try QuerySyntax.parse(["a red car at night"]) == [Part(source: .text("a red car at night"), weight: 1)])
        // Not a multiplier: letters, a sign, an empty rest, two dots.
        for text in ["dog: a good boy", "-2:x", "2:", "1.2.3:x", ".:x", "x:2", "12 30: sunset"] {
            #expect(try QuerySyntax.parse([text]) == [Part(source: .text(text), weight: 1)], "\(text)")
        }
    }

    @Test func multipliers() throws {
        let cases: [(String, Float, QuerySyntax.Source)] = [
            ("2:cat", 2, .text("cat")), ("0.5:./sleeping.jpg", 0.5, .image(path: "./sleeping.jpg")),
            (".5:dog", 0.5, .text("dog")), ("2.:dog", 2, .text("dog")), ("10.25:dog", 10.25, .text("dog")),
            ("0:dog", 0, .text("dog")), ("1:12:30 sunset", 1, .text("12:30 sunset")),
        ]
        for (query, weight, source) in cases {
            #expect(try QuerySyntax.parse([query]) == [Part(source: source, weight: weight)], "\(query)")
        }
        #expect(try QuerySyntax.parse(["a", "-", "3:b"])[1] == Part(source: .text("b"), weight: -3))
    }

    @Test func imagesAndURLs() throws {
        let cases: [(String, QuerySyntax.Source)] = [
            ("/photos/a.jpg", .image(path: "/photos/a.jpg")), ("./a.jpg", .image(path: "./a.jpg")),
            ("file:///photos/a b.png", .image(path: "/photos/a b.png")), (#"C:\photos\a.jpg"#, .image(path: #"C:\photos\a.jpg"#)),
            ("https://example.com/a.jpg", .url("https://example.com/a.jpg")), ("http://x/y.png", .url("http://x/y.png")),
            // rclip's rule: a relative path needs ./ to be a file.
            ("a.jpg", .text("a.jpg")), ("../a.jpg", .text("../a.jpg")), ("~/a.jpg", .text("~/a.jpg")),
        ]
        for (query, source) in cases {
            #expect(try QuerySyntax.parse([query]) == [Part(source: source, weight: 1)], "\(query)")
        }
    }

    @Test func addAndSubtractOptions() throws {
        let parts = try QuerySyntax.parse(["dog"], added: ["2:./a.jpg"], subtracted: ["cat", "0.5:bird"])
        #expect(parts.map(\.weight) == [1, 2, -1, -0.5])
        #expect(try QuerySyntax.parse([], added: ["dog"]) == [Part(source: .text("dog"), weight: 1)])
    }

    @Test func malformedQueriesAreRefused() {
        let cases: [([String], QuerySyntax.ParseError)] = [
            ([], .noQuery), (["dog", "+"], .operatorWithoutQuery("+")), (["dog", "+", "-", "cat"], .operatorWithoutQuery("+")),
            (["dog", "cat"], .missingOperator(before: "cat")), (["+", "dog"], .leadingOperator("+")),
            (["dog", "-", "  "], .emptyQuery(position: 2)), ([""], .emptyQuery(position: 1)), (["2: "], .emptyQuery(position: 1)),
        ]
        for (arguments, error) in cases {
            #expect(throws: error, "\(arguments)") { try QuerySyntax.parse(arguments) }
        }
    }
}
