// Search latency of the in-process library (SQLiteLibrary.search: one sgemv + a size-k heap) over N
// stored random unit vectors. Not a test: it measures, it asserts nothing.
//
//   swift build -c release --product search-bench
//   .build/release/search-bench [--rows 10000,100000] [--dim 512] [--queries 300] [--k 10]
//
// One JSON line per row count on stdout.
import Foundation
import LibraryStore

// MARK: - Arguments

var rowCounts = [10_000, 100_000]
var dim = 512
var queryCount = 300
var k = 10
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let flag = arguments.next() {
    guard let value = arguments.next() else { fatalError("\(flag) needs a value") }
    switch flag {
    case "--rows": rowCounts = value.split(separator: ",").compactMap { Int($0) }
    case "--dim": dim = Int(value) ?? dim
    case "--queries": queryCount = Int(value) ?? queryCount
    case "--k": k = Int(value) ?? k
    default: fatalError("unknown option \(flag)")
    }
}

// MARK: - Helpers

/// SplitMix64: the same vectors on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func unitVector(_ dim: Int, _ rng: inout SplitMix64) -> [Float] {
    let v = (0..<dim).map { _ in Float.random(in: -1...1, using: &rng) }
    let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return v.map { $0 / norm }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
}

// MARK: - Runs

for rows in rowCounts {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("search-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: folder) }
    let databasePath = folder.appendingPathComponent("index.sqlite").path
    var rng = SplitMix64(state: UInt64(rows))

    // Fill: random unit vectors as files indexed in place, 2000 per transaction.
    let insertSeconds = try seconds {
        let index = try SQLiteLibrary(databasePath: databasePath, dataDirectory: folder, modelName: "bench", dimension: dim)
        for start in stride(from: 0, to: rows, by: 2000) {
            let entries = (start..<min(start + 2000, rows)).map { i in
                FileEntry(path: "/bench/\(i).jpg", sha256: ContentHash.sha256Hex(Array("row \(i)".utf8)), mime: "image/jpeg",
                          width: 640, height: 480, byteSize: 50_000, mtime: 0,
                          embedding: unitVector(dim, &rng), thumbnailJPEG: [])
            }
            _ = try index.indexFiles(entries)
        }
    }

    // Reopen: the cost of loading every vector into the matrix at start.
    var opened: SQLiteLibrary?
    let openSeconds = try seconds {
        opened = try SQLiteLibrary(databasePath: databasePath, dataDirectory: folder, modelName: "bench", dimension: dim)
    }
    let index = opened!
    let topK = k
    precondition(index.vectors.count == rows, "loaded \(index.vectors.count) of \(rows) rows")

    let queries = (0..<queryCount).map { _ in unitVector(dim, &rng) }
    for query in queries.prefix(10) { _ = try index.search(query, k: k) }   // warm-up

    // One query at a time.
    var latencies: [Double] = []
    for query in queries {
        latencies.append(try seconds { _ = try index.search(query, k: k) } * 1000)
    }
    latencies.sort()

    // Two searchers at once (the machine's two cores), as concurrent HTTP requests would be.
    let concurrentSeconds = seconds {
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            for i in stride(from: worker, to: queries.count, by: 2) {
                _ = try? index.search(queries[i], k: topK)
            }
        }
    }

    let mean = latencies.reduce(0, +) / Double(latencies.count)
    print(String(format: #"{"rows":%d,"dim":%d,"k":%d,"queries":%d,"insert_rows_per_s":%.0f,"open_s":%.3f,"search_p50_ms":%.3f,"search_p99_ms":%.3f,"search_mean_ms":%.3f,"search_qps_2_threads":%.1f}"#,
                 rows, dim, k, queryCount, Double(rows) / insertSeconds, openSeconds,
                 percentile(latencies, 0.5), percentile(latencies, 0.99), mean, Double(queryCount) / concurrentSeconds))
}
