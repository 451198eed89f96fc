@testable import App
import CLIP
import Dispatch
import Foundation
import HummingbirdTesting
import Synchronization
import Testing

@Suite("Micro-batching of concurrent requests")
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

    /// What finished, in order, across threads.
    final class Finished: Sendable {
        let order = Mutex<[String]>([])
        func add(_ name: String) { order.withLock { $0.append(name) } }
    }

    @Test("a submission over the solo size runs while a batch is still running")
    func soloSubmissionSkipsTheQueue() async {
        // The batch [-1] holds its thread until the solo submission has run (or 10 s pass): were
        // the solo one queued behind it, it could not run first.
        let soloRan = DispatchSemaphore(value: 0)
        let finished = Finished()
        let batcher = MicroBatcher<Int, Int>(window: .zero, maxItems: 64, solo: 4) { inputs in
            if inputs == [-1] {
                finished.add(soloRan.wait(timeout: .now() + 10) == .success ? "batch saw the solo run" : "batch timed out")
            } else if inputs.count > 4 {
                soloRan.signal()
            }
            return inputs
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = await batcher.submit([-1]) }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(100))
                #expect(await batcher.submit(Array(0..<10)).outputs == Array(0..<10))
            }
        }
        #expect(finished.order.withLock { $0 } == ["batch saw the solo run"])
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

    @Test("blocking submissions from several threads share batches too")
    func blockingSubmissionsShareBatches() {
        let recorder = Recorder()
        // A long window, and a thread per submission: all 12 are waiting before the first batch runs.
        let batcher = MicroBatcher<Int, Int>(window: .seconds(1), maxItems: 64, run: recorder.run)
        let results = Mutex<[Int: [Int]]>([:])
        let group = DispatchGroup()
        for i in 0..<12 {
            group.enter()
            Thread {
                let outputs = batcher.submitAndWait([i]).outputs
                results.withLock { $0[i] = outputs }
                group.leave()
            }.start()
        }
        group.wait()
        let byInput = results.withLock { $0 }
        for i in 0..<12 { #expect(byInput[i] == [i * 10]) }
        let batches = recorder.batches.withLock { $0 }
        #expect(batches.reduce(0, +) == 12 && batches.count < 12, "batches: \(batches)")
    }

    @Test("images uploaded and embedded by concurrent requests get the vectors they get alone")
    func concurrentImagesEqualAlone() async throws {
        let names = Fixtures.smallImages
        let bytes = try names.map(Fixtures.image)
        let alone = try bytes.map { Fixtures.encoder.encode(images: [try ImageDecoder.decode($0)])[0] }
        let server = try TestServer()
        let index = server.index
        try await server.test { client in
            let embedded = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
                for (i, image) in bytes.enumerated() {
                    group.addTask {
                        let response = try await client.json(.post, "/embed", ["images": [Data(image).base64EncodedString()]])
                        #expect(response.status == .ok)
                        let vectors = try #require((try response.object()["image_embeddings"] as? [[NSNumber]]))
                        return (i, try #require(vectors.first).map(\.floatValue))
                    }
                    group.addTask { (1000 + i, [Float(try await client.uploadID(image, name: names[i]))]) }
                }
                return try await group.reduce(into: [Int: [Float]]()) { $0[$1.0] = $1.1 }
            }
            for i in bytes.indices {
                #expect(embedded[i] == alone[i], "/embed \(names[i])")
                let id = Int64(try #require(embedded[1000 + i])[0])
                // The store keeps the vector as its own normalization of the encoder's output.
                #expect(index.vectors.vector(of: id) == (try index.vectors.unitVector(alone[i], what: "expected")), "/index \(names[i])")
            }
        }
    }
}
