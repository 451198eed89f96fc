@testable import App
import Foundation
import HummingbirdTesting
import Synchronization
import Testing

@Suite("Micro-batching of concurrent text queries")
struct MicroBatcherTests {
    /// Records the size of every batch it ran; outputs are the inputs times ten.
    final class Recorder: Sendable {
        let batches = Mutex<[Int]>([])
        func run(_ inputs: [Int]) -> [Int] {
            batches.withLock { $0.append(inputs.count) }
            return inputs.map { $0 * 10 }
        }
    }

    @Test("concurrent submissions share batches, each gets its own outputs in order")
    func concurrentSubmissionsShareBatches() async {
        let recorder = Recorder()
        // A long window, so that every submission made at once arrives while the first waits.
        let batcher = MicroBatcher<Int, Int>(window: .milliseconds(300), maxItems: 64, run: recorder.run)
        let results = await withTaskGroup(of: (Int, [Int]).self) { group in
            for i in 0..<40 {
                group.addTask { (i, await batcher.submit([i, i + 1000]).outputs) }
            }
            return await group.reduce(into: [Int: [Int]]()) { $0[$1.0] = $1.1 }
        }
        for i in 0..<40 { #expect(results[i] == [i * 10, (i + 1000) * 10]) }
        let batches = recorder.batches.withLock { $0 }
        #expect(batches.reduce(0, +) == 80)
        #expect(batches.allSatisfy { $0 <= 64 })
        // One pass per submission would be 40.
        #expect(batches.count <= 4, "batches: \(batches)")
    }

    @Test("a submission larger than maxItems runs whole and alone; no submission is split")
    func largeSubmissionRunsWhole() async {
        let recorder = Recorder()
        let batcher = MicroBatcher<Int, Int>(window: .zero, maxItems: 4, run: recorder.run)
        let large = Array(0..<10)
        #expect(await batcher.submit(large).outputs == large.map { $0 * 10 })
        #expect(await batcher.submit([]).outputs == [])
        let batches = recorder.batches.withLock { $0 }
        #expect(batches == [10])
    }

    static let texts = ["a dog", "a red circle on a white background", "two blue stars", "x",
                        "a photo of a cat sitting on a very long wooden bench in the park at night",
                        "🙂 emoji", "the same words", "the same words", "", "numbers 1 2 3 4 5 6 7 8 9"]

    @Test("texts of different lengths encoded in one batch equal each text encoded alone, exactly")
    func batchedTextsEqualAlone() async {
        let encoder = Fixtures.encoder, texts = Self.texts
        let alone = texts.map { encoder.encode(texts: [$0])[0] }
        let batches = Mutex<[Int]>([])
        let batcher = MicroBatcher<String, [Float]>(window: .milliseconds(300), maxItems: 256) { inputs in
            batches.withLock { $0.append(inputs.count) }
            return encoder.encode(texts: inputs)
        }
        let results = await withTaskGroup(of: (Int, [Float]).self) { group in
            for (i, text) in texts.enumerated() { group.addTask { (i, await batcher.submit([text]).outputs[0]) } }
            return await group.reduce(into: [Int: [Float]]()) { $0[$1.0] = $1.1 }
        }
        for i in texts.indices { #expect(results[i] == alone[i], "text \(i): \(texts[i])") }
        let sizes = batches.withLock { $0 }
        #expect(sizes.count < texts.count && sizes.contains { $0 > 1 }, "batches: \(sizes)")
    }

    @Test("texts encoded through concurrent /embed requests equal each text encoded alone, exactly")
    func concurrentEmbedsEqualAlone() async throws {
        let texts = Self.texts
        let alone = texts.map { Fixtures.encoder.encode(texts: [$0])[0] }
        let server = try TestServer()
        try await server.test { client in
            let results = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
                for (i, text) in texts.enumerated() {
                    group.addTask {
                        let response = try await client.json(.post, "/embed", ["texts": [text]])
                        #expect(response.status == .ok)
                        let vectors = try #require((try response.object()["text_embeddings"] as? [[NSNumber]]))
                        return (i, try #require(vectors.first).map(\.floatValue))
                    }
                }
                return try await group.reduce(into: [Int: [Float]]()) { $0[$1.0] = $1.1 }
            }
            for i in texts.indices { #expect(results[i] == alone[i], "text \(i): \(texts[i])") }
        }
    }
}
