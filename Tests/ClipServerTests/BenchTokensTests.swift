import Testing

@testable import clip_server

/// The bench's fixed token lists keep the tokenizer's contract (DESIGN.md section 2): start 49406,
/// end 49407, at most 77 ids.
@Suite struct BenchTokensTests {
    @Test func tokenListsAreWellFormed() {
        for ids in BenchTokens.queries + [BenchTokens.longCaption] {
            #expect(ids.first == 49406 && ids.last == 49407 && ids.count <= 77)
            #expect(ids.dropFirst().dropLast().allSatisfy { $0 < 49406 })
        }
        #expect(BenchTokens.longCaption.count == 77)
        #expect(BenchTokens.shortQuery.count == 7)
    }
}
