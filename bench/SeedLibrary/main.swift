import ArgumentParser
import Foundation
import SearchIndex

/// `clip-server seed-random --db PATH --count N --model-name NAME --dim D` (hidden; for
/// bench/search-http.sh): stores N random unit vectors as rows of files that do not exist
/// (`/seed-random/N.jpg`), so `/search` can be timed at 10k/100k embeddings without encoding images.
struct SeedRandomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-random",
        abstract: "Benchmark helper: store N random unit vectors in an index.",
        shouldDisplay: false
    )

    @Option(name: .long) var db: String
    @Option(name: .long) var count: Int
    @Option(name: .long, help: "The model name the server will load (its folder's name).") var modelName: String
    @Option(name: .long) var dim: Int
    @Option(name: .long) var seed: UInt64 = 42

    func run() throws {
        let index = try ImageIndex(databasePath: db, dataDirectory: URL(fileURLWithPath: db).deletingLastPathComponent(),
                                   modelName: modelName, dimension: dim)
        var generator = SplitMix64(seed: seed)
        let first = index.count
        var batch: [FileEntry] = []
        for i in first..<(first + count) {
            // Box-Muller normals → a uniformly random direction.
            var vector = (0..<dim).map { _ -> Float in
                let u1 = max(Double(generator.next() >> 11) / Double(1 << 53), 1e-300)
                let u2 = Double(generator.next() >> 11) / Double(1 << 53)
                return Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
            }
            let norm = vector.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            vector = vector.map { $0 / norm }
            let sha = ContentHash.sha256Hex(Array("seed-random \(seed) \(i)".utf8))
            batch.append(FileEntry(path: "/seed-random/\(i).jpg", sha256: sha, mime: "image/jpeg", width: 1, height: 1,
                                   byteSize: 0, mtime: 0, embedding: vector, thumbnailJPEG: []))
            // Batches of 1000 rows per transaction: seeding 100k takes seconds, not an fsync each.
            if batch.count == 1000 || i == first + count - 1 {
                _ = try index.indexFiles(batch)
                batch.removeAll(keepingCapacity: true)
            }
            if (i + 1) % 10_000 == 0 { FileHandle.standardError.write(Data("seeded \(i + 1)\n".utf8)) }
        }
        print("{\"count\":\(index.count)}")
    }
}

/// A small deterministic generator (Steele et al.'s SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_B9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
