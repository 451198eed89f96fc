import Foundation
import NeuralOps
import Testing
@testable import CLIP

// A batch of texts computes the positions its texts share once (TextTransformer's PrefixTree). Each
// text must still get the embedding it gets alone, bit for bit; ModelParityTests compares the same
// batched path (whose fixture texts share "a photo of a") with transformers.

@Test func prefixTreeStoresEachSharedPrefixOnce() {
    let dog: [Int32] = [49406, 320, 1125, 539, 320, 1929, 49407]   // a photo of a dog
    let cat: [Int32] = [49406, 320, 1125, 539, 320, 2368, 49407]   // a photo of a cat
    let two: [Int32] = [49406, 1237, 1929, 49407]                  // two dog
    var tree = PrefixTree()
    tree.add(dog[...])
    #expect(tree.rows == 7)
    tree.add(cat[...])
    #expect(tree.rows == 7 + 2)
    tree.add(dog[...])
    #expect(tree.rows == 7 + 2)
    tree.add(two[...])
    #expect(tree.rows == 7 + 2 + 3)
    #expect(tree.tokens == dog + [2368, 49407, 1237, 1929, 49407])
    #expect(tree.positions == Array(0..<7) + [5, 6, 1, 2, 3])
    // The repeat of `dog` has no rows of its own, so no attention of its own; it is pooled at dog's row.
    #expect(tree.shared == [SharedPrefixSequence(rows: Array(0..<7), firstOwn: 0),
                            SharedPrefixSequence(rows: [0, 1, 2, 3, 4, 7, 8], firstOwn: 5),
                            SharedPrefixSequence(rows: [0, 9, 10, 11], firstOwn: 1)])
    #expect(tree.pooled == [6, 8, 6, 11])
    #expect(tree.pooledPositions.map { [$0.sequence, $0.position] } == [[0, 6], [1, 6], [2, 3]])
    // A sequence that is a prefix of an earlier one (pooled by argmax, legacy configs) has no rows of
    // its own either, and is read at the row of its last position.
    tree.add(cat.prefix(4))
    #expect(tree.rows == 12 && tree.pooled.last == 3)
    #expect(tree.pooledPositions.last.map { [$0.sequence, $0.position] } == [0, 3])
}

/// Texts that share prefixes (and repeat), in every precision, in one batch and one at a time.
@Test(arguments: [PrecisionSetting.auto, .f32, .int8])
func textsThatSharePrefixesGetTheEmbeddingsTheyGetAlone(precision: PrecisionSetting) throws {
    let model = try CLIPModel(directory: ModelFixtures.huggingFaceF16, precision: precision)
    let fixture = try ModelFixtures.texts().map(\.ids)
    var texts = fixture
    // Every fixture text's first ids with every other's tail, and each text twice.
    for (i, head) in fixture.enumerated() where head.count > 3 {
        let tail = fixture[(i + 5) % fixture.count].dropFirst()
        texts.append(Array(head.prefix(head.count / 2) + tail).suffix(77))
    }
    texts[texts.count - 1][0] = 49406
    texts += fixture.prefix(4)
    let batched = model.textEmbeddings(tokenIds: texts)
    for (text, embedding) in zip(texts, batched) {
        #expect(embedding.map(\.bitPattern) == model.textEmbeddings(tokenIds: [text])[0].map(\.bitPattern), "\(text)")
    }
}

/// More texts than one pass holds (TextTransformer.maxChunkRows positions): all 77 ids long, sharing ten.
@Test func aBatchOfManyPassesStillSharesAndMatches() throws {
    let model = try CLIPModel(directory: ModelFixtures.huggingFaceF16, precision: .f32)
    let shared: [Int32] = [49406] + (1..<10).map { Int32(320 + $0) }
    let texts: [[Int32]] = (0..<40).map { (n: Int) -> [Int32] in
        let own: [Int32] = (10..<76).map { Int32(1000 + n * 67 + $0) }
        return shared + own + [49407]
    }
    let batched = model.textEmbeddings(tokenIds: texts.reversed())
    for (text, embedding) in zip(texts.reversed(), batched) {
        #expect(embedding.map(\.bitPattern) == model.textEmbeddings(tokenIds: [text])[0].map(\.bitPattern))
    }
}
