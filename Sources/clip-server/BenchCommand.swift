import ArgumentParser
import CLIP
import Foundation
import NeuralOps

/// `clip-server bench`: encoder throughput on this machine (DESIGN.md section 4), as one JSON object
/// whose keys match bench/peers.py's so the two can be read side by side. Progress on stderr.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure image and text encoding speed; prints one JSON object.",
        discussion: """
            Image: random normalized 224x224 pixels at batch 32 and 1 (images/s). Text: p50 latency of a short \
            query (7 tokens) and of a 77-token caption, and texts/s at batch 32 (32 distinct queries). Each figure \
            is the median of timed runs after a warm-up. Nothing else should run on the machine meanwhile.
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Timed runs at batch 32 (batch 1 and text latency use 4x as many).")
    var runs = 5

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
    }

    func run() throws {
        let directory = modelOptions.directory
        progress("loading \(directory.path)")
        let loadStart = ContinuousClock.now
        let clip: CLIPModel
        do {
            clip = try CLIPModel(directory: directory, precision: modelOptions.precision)
        } catch {
            FileHandle.standardError.write(Data("bench: \(error.description)\n".utf8))
            throw ExitCode.failure
        }
        let loadTime = ContinuousClock.now - loadStart
        let side = clip.config.vision.imageSize

        var figures: [String: Any] = [
            "model": directory.standardizedFileURL.path,
            "load_ms": milliseconds(loadTime),
            "precision": clip.precisionLabel,
            // VmRSS with the weights loaded, before any forward pass allocates its scratch.
            "resident_mb": residentMegabytes() as Any? ?? NSNull(),
            "engine_threads": computeThreads,
            "OPENBLAS_CORETYPE": ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] as Any? ?? NSNull(),
            "cores": ProcessInfo.processInfo.activeProcessorCount,
            "note": "median of timed runs after warm-up; other processes on the machine add noise",
        ]

        // MARK: Image tower
        let batch32 = randomPixels(count: 32 * 3 * side * side, seed: 32)
        let batch1 = randomPixels(count: 3 * side * side, seed: 1)
        progress("image batch 32")
        let image32 = median(runs: runs) {
            batch32.withUnsafeBufferPointer { _ = clip.imageEmbeddings(pixels: $0, batch: 32) }
        }
        figures["image_batch32_images_per_s"] = 32 / image32
        // DESIGN.md section 4: 8.8 GFLOP per ViT-B/32 image; compare with sgemm's peak on this machine.
        figures["image_batch32_gflop_per_s"] = 8.8 * 32 / image32
        progress("image batch 1")
        let image1 = median(runs: 4 * runs) {
            batch1.withUnsafeBufferPointer { _ = clip.imageEmbeddings(pixels: $0, batch: 1) }
        }
        figures["image_batch1_images_per_s"] = 1 / image1

        // MARK: Text tower
        progress("text latency")
        figures["text_p50_ms_short_query_unpadded"] = 1000 * median(runs: 4 * runs) {
            _ = clip.textEmbeddings(tokenIds: [BenchTokens.shortQuery])
        }
        figures["text_p50_ms_77_tokens"] = 1000 * median(runs: 4 * runs) {
            _ = clip.textEmbeddings(tokenIds: [BenchTokens.longCaption])
        }
        progress("text batch 32")
        let texts32 = BenchTokens.batch32
        figures["text_batch32_texts_per_s"] = 32 / median(runs: runs) {
            _ = clip.textEmbeddings(tokenIds: texts32)
        }
        figures["short_query_tokens"] = BenchTokens.shortQuery.count
        // Read after the runs: NeuralOps sets OpenBLAS's thread count on its first sgemm.
        figures["openblas_threads"] = OpenBLASInfo.threads as Any? ?? NSNull()
        figures["openblas_core"] = OpenBLASInfo.coreName as Any? ?? NSNull()
        figures["kernel_tiles"] = linearKernelTiles
        figures["resident_mb_after_runs"] = residentMegabytes() as Any? ?? NSNull()

        let data = try JSONSerialization.data(withJSONObject: figures.mapValues(rounded),
            options: [.sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
    }

    // MARK: - Measuring

    /// This process's resident memory (VmRSS in /proc/self/status) in MB (2^20 bytes); nil off Linux.
    private func residentMegabytes() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kilobytes / 1024
    }

    /// Median seconds of `runs` calls after one warm-up call.
    private func median(runs: Int, _ body: () -> Void) -> Double {
        body()
        let clock = ContinuousClock()
        let times = (0..<runs).map { _ in seconds(clock.measure(body)) }.sorted()
        return times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    private func milliseconds(_ duration: Duration) -> Double { 1000 * seconds(duration) }

    private func rounded(_ value: Any) -> Any {
        guard let number = value as? Double else { return value }
        return (number * 1000).rounded() / 1000
    }

    /// Values spread like normalized pixels (about -2...2), from a seeded xorshift generator.
    private func randomPixels(count: Int, seed: UInt64) -> [Float] {
        var state = 0x9E37_79B9_7F4A_7C15 ^ seed
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Float(state >> 40) / Float(1 << 24) * 4 - 2
        }
    }

    private func progress(_ message: String) {
        FileHandle.standardError.write(Data("bench: \(message)\n".utf8))
    }
}

/// Token ids from OpenAI's tokenizer (open_clip's simple_tokenizer, as used by bench/peers.py), fixed
/// here so the bench does not depend on the tokenizer.
enum BenchTokens {
    /// "a photo of a dog"
    static let shortQuery: [Int32] = [49406, 320, 1125, 539, 320, 1929, 49407]
    /// bench/peers.py's 32 distinct texts: its eight queries, and each again after "the", "two" and
    /// "red" (distinct from position 1 on: a batch shares its texts' common prefixes' rows, and
    /// repeats cost nothing, so repeating the eight would measure less than 32 texts' work).
    static var batch32: [[Int32]] {
        [[], [518], [1237], [736]].flatMap { (word: [Int32]) in queries.map { [$0[0]] + word + $0.dropFirst() } }
    }

    /// bench/peers.py's eight queries.
    static let queries: [[Int32]] = [
        shortQuery,
        [49406, 320, 2368, 6982, 525, 320, 15723, 49407],  // a cat sleeping on a sofa
        [49406, 736, 2054, 1615, 16487, 525, 320, 2012, 536, 930, 49407],  // red sports car parked on a street at night
        [49406, 5873, 5603, 530, 2583, 1798, 320, 1746, 2390, 49407],  // mountains covered in snow under a blue sky
        [49406, 320, 3814, 539, 18892, 593, 550, 5911, 49407],  // a bowl of ramen with an egg
        [49406, 1237, 1047, 9118, 530, 320, 4167, 49407],  // two people hiking in a forest
        [49406, 320, 13717, 525, 320, 9648, 3720, 49407],  // a lighthouse on a rocky coast
        [49406, 320, 2913, 1629, 593, 320, 19867, 525, 518, 2117, 49407],  // a child playing with a kite on the beach
    ]
    /// "a very long caption that keeps going" x20, truncated to 77 ids (last one 49407).
    static let longCaption: [Int32] =
        [49406] + Array((0..<13).flatMap { _ in [320, 1070, 1538, 11327, 682, 6333, 1245] as [Int32] }.prefix(75)) + [49407]
}
