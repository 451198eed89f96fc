// search-bench (DESIGN.md section 3): exact and approximate search latency and recall on the
// caller's vectors, through the real store. Not a test: it measures, it asserts nothing.
//
//   swift build -c release --product search-bench
//   .build/release/search-bench --vectors FILE --queries FILE --dim D [--k 10] [--churn M]
//   .build/release/search-bench --vectors FILE --queries FILE --dim D --build-threads 1,2   (graph build only)
//   .build/release/search-bench ... --keep DIR       (the store is made in DIR and left there)
//   .build/release/search-bench --reopen DIR --dim D [--runs 5] [--finish 1]   (only the open of a kept
//       store, timed; --finish 1 then links the whole graph and writes the vector file, as a close after
//       a finished build would: for a store whose file is stale or of an older format)
//
// FILE: raw little-endian float32 unit vectors, `dim` per row. All but the last M vectors go into a
// fresh SQLiteLibrary (2,000 rows a transaction), which is then reopened . Each query is
// timed alone against `store.vectors` (the SearchIndex part of a search; fetching the hits' rows is
// the store's), exact (`exact: true`) and approximate; recall@k is the approximate hits found in the
// exact ones. The library is opened twice: from the rows without a vector file (`open_rows_s`;
// the graph then built again on one thread: `ann_build_s`), and from the vector file written after
// (`open_s`), whose vectors are the ones searched. `ef_sweep`: latency and recall at fixed beam
// widths. With --churn M: M stored rows (evenly spread) are deleted and the last M vectors
// added, then recall is measured again. One JSON object on stdout; progress on stderr.
import Foundation
import LibraryStore
import SearchIndex

// MARK: - Arguments

struct Arguments {
    var vectors = ""
    var queries = ""
    var dim = 0
    var k = 10
    var churn = 0
    var buildThreads: [Int] = []
    var keep = ""
    var reopen = ""
    var runs = 5
    var finish = false

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let flag = iterator.next() {
            guard let value = iterator.next() else { fail("\(flag) needs a value") }
            switch flag {
            case "--vectors": vectors = value
            case "--queries": queries = value
            case "--dim": dim = Int(value) ?? 0
            case "--k": k = Int(value) ?? 0
            case "--churn": churn = Int(value) ?? -1
            case "--build-threads": buildThreads = value.split(separator: ",").map { Int($0) ?? 0 }
            case "--keep": keep = value
            case "--reopen": reopen = value
            case "--runs": runs = Int(value) ?? 0
            case "--finish": finish = value == "1"
            default: fail("unknown option \(flag) (usage: --vectors FILE --queries FILE --dim D [--k 10] [--churn M])")
            }
        }
        guard dim > 0, runs > 0 else { fail("--dim and --runs must be positive") }
        guard reopen.isEmpty else { return }   // --queries optional there: exact and approximate p50 on the opened store
        guard !vectors.isEmpty, !queries.isEmpty else { fail("--vectors and --queries are required") }
        guard k > 0, churn >= 0 else { fail("--dim and --k must be positive, --churn not negative") }
        guard buildThreads.allSatisfy({ $0 > 0 }) else { fail("--build-threads takes positive counts, e.g. 1,2") }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("search-bench: \(message)\n".utf8))
    exit(2)
}

func log(_ message: String) {
    FileHandle.standardError.write(Data("search-bench: \(message)\n".utf8))
}

// MARK: - Helpers

/// The rows of a raw float32 file, `dim` per row.
func readVectors(_ path: String, dim: Int) -> [[Float]] {
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    guard data.count % (dim * 4) == 0 else { fail("\(path): \(data.count) bytes is not a whole number of \(dim)-float rows") }
    let rows = data.count / (dim * 4)
    return data.withUnsafeBytes { raw in
        (0..<rows).map { r in
            (0..<dim).map { i in Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: (r * dim + i) * 4, as: UInt32.self))) }
        }
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * p).rounded(.up)) - 1))]
}

func residentMB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}

func entries(_ vectors: ArraySlice<[Float]>, from start: Int) -> [FileEntry] {
    vectors.enumerated().map { offset, vector in
        let i = start + offset
        return FileEntry(path: "/bench/\(i).jpg", sha256: ContentHash.sha256Hex(Array("row \(i)".utf8)), mime: "image/jpeg",
                         width: 640, height: 480, byteSize: 50_000, mtime: 0, embedding: vector, thumbnailJPEG: [])
    }
}

/// Each query alone: latency (ms) and hit ids (`efSearch`: a fixed beam instead of the index's own).
func timed(_ index: VectorIndex, _ queries: [[Float]], k: Int, exact: Bool, efSearch: Int? = nil) throws -> (ms: [Double], ids: [[Int64]]) {
    for query in queries.prefix(5) { _ = try index.search(query, k: k, exact: exact, efSearch: efSearch) }   // warm-up
    var ms: [Double] = []
    var ids: [[Int64]] = []
    for query in queries {
        var hits: [ScoredID] = []
        ms.append(try seconds { hits = try index.search(query, k: k, exact: exact, efSearch: efSearch).hits } * 1000)
        ids.append(hits.map(\.id))
    }
    return (ms, ids)
}

func recall(_ approximate: [[Int64]], _ exact: [[Int64]], k: Int) -> Double {
    let found = zip(approximate, exact).reduce(0) { sum, pair in sum + Set(pair.0).intersection(pair.1).count }
    return Double(found) / Double(exact.count * k)
}

func rounded(_ value: Double, _ places: Int = 3) -> Double {
    let scale = pow(10, Double(places))
    return (value * scale).rounded() / scale
}

// MARK: - Run

let arguments = Arguments(Array(CommandLine.arguments.dropFirst()))
let dim = arguments.dim

// --reopen DIR: a store kept by --keep, opened `runs` times (from its vector file, page cache warm
// after the first): each open's seconds, to work on the open alone without filling a store again.
if !arguments.reopen.isEmpty {
    let folder = URL(fileURLWithPath: arguments.reopen)
    let path = folder.appendingPathComponent("index.sqlite").path
    guard FileManager.default.fileExists(atPath: path) else { fail("no store in \(arguments.reopen) (make one with --keep)") }
    var times: [Double] = []
    var source = ""
    var count = 0
    var searched: [String: Any] = [:]
    for run in 0..<arguments.runs {
        var opened: SQLiteLibrary?
        times.append(try seconds { opened = try SQLiteLibrary(databasePath: path, dataDirectory: folder, modelName: "bench", dimension: dim) })
        source = "\(opened!.vectorSource)"
        count = opened!.vectors.count
        log("opened \(count) rows in \(rounded(times.last!)) s from \(source)")
        if arguments.finish {
            let linking = seconds { opened!.vectors.finishBuilding() }
            let writing = try seconds { try opened!.writeVectorFile() }
            log("graph finished in \(rounded(linking, 1)) s, vector file written in \(rounded(writing, 1)) s")
        }
        if run == arguments.runs - 1, !arguments.queries.isEmpty {
            let queries = readVectors(arguments.queries, dim: dim)
            let exact = try timed(opened!.vectors, queries, k: arguments.k, exact: true)
            let approximate = try timed(opened!.vectors, queries, k: arguments.k, exact: false)
            searched = ["exact_p50_ms": rounded(percentile(exact.ms, 0.5)), "ann_p50_ms": rounded(percentile(approximate.ms, 0.5)),
                        "ann_recall10": rounded(recall(approximate.ids, exact.ids, k: arguments.k), 4)]
        }
        opened = nil
    }
    let json = try JSONSerialization.data(withJSONObject: ["rows": count, "open_from": source, "open_s": times.map { rounded($0) },
                                                           "open_p50_s": rounded(percentile(times, 0.5))]
                                                           .merging(searched) { a, _ in a }, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
    exit(0)
}
let k = arguments.k
let all = readVectors(arguments.vectors, dim: dim)
let queries = readVectors(arguments.queries, dim: dim)
guard all.count > arguments.churn, !queries.isEmpty else { fail("\(all.count) vectors cannot leave \(arguments.churn) for churn; \(queries.count) queries") }
let rows = all.count - arguments.churn
log("\(rows) rows (+\(arguments.churn) for churn), \(queries.count) queries, dim \(dim)")

// --build-threads 1,2: only the graph, built from scratch on a bare VectorIndex per thread count
// (no store): build seconds and recall@k at the default beam.
if !arguments.buildThreads.isEmpty {
    let upserts = all[..<rows].enumerated().map { VectorChange.upsert(id: Int64($0.offset + 1), vector: $0.element) }
    var runs: [[String: Any]] = []
    for threads in arguments.buildThreads {
        var options = VectorIndex.Options()
        options.buildInBackground = false
        options.linkThreads = threads
        let index = try VectorIndex(dimension: dim, options: options)
        let build = seconds { index.apply(upserts) }
        let exact = try timed(index, queries, k: k, exact: true)
        let approximate = try timed(index, queries, k: k, exact: false)
        log("\(threads) thread(s): graph built in \(rounded(build, 1)) s")
        runs.append(["threads": threads, "build_s": rounded(build, 2), "ann_recall10": rounded(recall(approximate.ids, exact.ids, k: k), 4),
                     "ann_p50_ms": rounded(percentile(approximate.ms, 0.5))])
    }
    let json = try JSONSerialization.data(withJSONObject: ["rows": rows, "graph_builds": runs], options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
    exit(0)
}

let folder = arguments.keep.isEmpty
    ? FileManager.default.temporaryDirectory.appendingPathComponent("search-bench-\(UUID().uuidString)")
    : URL(fileURLWithPath: arguments.keep)
if !arguments.keep.isEmpty, FileManager.default.fileExists(atPath: folder.appendingPathComponent("index.sqlite").path) {
    fail("\(arguments.keep) already holds a store (time its open with --reopen)")
}
defer { if arguments.keep.isEmpty { try? FileManager.default.removeItem(at: folder) } }
let databasePath = folder.appendingPathComponent("index.sqlite").path

var storedIDs: [Int64] = []
var fileWriteSeconds = 0.0
var lastLinkSeconds = 0.0
var filling: SQLiteLibrary? = try SQLiteLibrary(databasePath: databasePath, dataDirectory: folder, modelName: "bench", dimension: dim)
let insertSeconds = try seconds {
    for start in stride(from: 0, to: rows, by: 2000) {
        storedIDs += try filling!.indexFiles(entries(all[start ..< min(start + 2000, rows)], from: start)).map(\.image.id)
        if (start / 2000) % 50 == 49 { log("stored \(start + 2000) rows") }
    }
}
log("stored \(rows) rows in \(rounded(insertSeconds, 1)) s (the graph growing in the background)")
// Waits for the background writes of the vector file during the inserts; removed below.
try filling!.writeVectorFile()
filling = nil

/// Opens the library, timed, and says where its vectors came from.
func open() throws -> (store: SQLiteLibrary, seconds: Double) {
    var opened: SQLiteLibrary?
    let time = try seconds { opened = try SQLiteLibrary(databasePath: databasePath, dataDirectory: folder, modelName: "bench", dimension: dim) }
    precondition(opened!.vectors.count == rows, "loaded \(opened!.vectors.count) of \(rows) rows")
    log("opened in \(rounded(time)) s from \(opened!.vectorSource)")
    return (opened!, time)
}

// From the rows (no vector file): what every open cost before the file, and the whole graph
// built again on one thread. Closing writes the vector file.
try? FileManager.default.removeItem(at: URL(fileURLWithPath: databasePath + ".vectors"))
var fromRows: SQLiteLibrary?
var openRowsSeconds = 0.0
(fromRows, openRowsSeconds) = try open()
let rowsSource = fromRows!.vectorSource
let buildSeconds = seconds { fromRows!.vectors.finishBuilding() }
log("graph of \(fromRows!.vectors.footprint.graphNodes) nodes built in \(rounded(buildSeconds, 1)) s")
fileWriteSeconds = try seconds { try fromRows!.writeVectorFile() }
let fileBytes = (try? FileManager.default.attributesOfItem(atPath: databasePath + ".vectors")[.size] as? Int) ?? 0
log("vector file written in \(rounded(fileWriteSeconds, 1)) s (\(fileBytes / 1_000_000) MB)")
fromRows = nil

// From the vector file.
let (store, openSeconds) = try open()
let index = store.vectors
lastLinkSeconds = seconds { index.finishBuilding() }
let footprint = index.footprint
let residentAfterOpen = residentMB()

let exact = try timed(index, queries, k: k, exact: true)
let approximate = try timed(index, queries, k: k, exact: false)
var result: [String: Any] = [
    "rows": rows, "dim": dim, "k": k, "queries": queries.count,
    "open_s": rounded(openSeconds), "open_from": "\(store.vectorSource)", "open_rows_s": rounded(openRowsSeconds), "open_rows_from": "\(rowsSource)",
    "vector_file_write_s": rounded(fileWriteSeconds, 2), "vector_file_mb": fileBytes / 1_000_000,
    "link_after_open_s": rounded(lastLinkSeconds, 2), "resident_mb_after_open": rounded(residentAfterOpen, 0),
    "ef_search_default": index.beamWidth(live: rows, wanted: k),
    "exact_p50_ms": rounded(percentile(exact.ms, 0.5)), "exact_p99_ms": rounded(percentile(exact.ms, 0.99)),
    "ann_p50_ms": rounded(percentile(approximate.ms, 0.5)), "ann_p99_ms": rounded(percentile(approximate.ms, 0.99)),
    "ann_recall10": rounded(recall(approximate.ids, exact.ids, k: k), 4),
    "insert_rows_per_s": Int(Double(rows) / insertSeconds),
    "ann_build_s": rounded(buildSeconds, 2),
    "ann_used": footprint.graphNodes > 0,
    "index_mb": ["f32_matrix": rounded(Double(footprint.matrixBytes) / 1e6, 1), "int8_matrix": rounded(Double(footprint.compactBytes) / 1e6, 1),
                 "graph": rounded(Double(footprint.graphBytes) / 1e6, 1)],
    "resident_mb": rounded(residentMB(), 0),
]

// Latency against recall as the beam widens.
var sweep: [[String: Any]] = []
for ef in [32, 64, 96, 128, 192, 256] {
    let run = try timed(index, queries, k: k, exact: false, efSearch: ef)
    sweep.append(["ef": ef, "p50_ms": rounded(percentile(run.ms, 0.5)), "recall10": rounded(recall(run.ids, exact.ids, k: k), 4)])
}
result["ef_sweep"] = sweep

if arguments.churn > 0 {
    let m = arguments.churn
    let step = Double(storedIDs.count) / Double(m)
    let victims = (0..<m).map { storedIDs[Int(Double($0) * step)] }
    let deleteSeconds = try seconds { for id in victims { _ = try store.delete(id: id) } }
    let addSeconds = try seconds {
        for start in stride(from: rows, to: all.count, by: 2000) {
            _ = try store.indexFiles(entries(all[start ..< min(start + 2000, all.count)], from: start))
        }
    }
    let linkSeconds = seconds { index.finishBuilding() }
    log("churn: deleted \(m) in \(rounded(deleteSeconds, 1)) s, added \(m) in \(rounded(addSeconds, 1)) s, linked \(rounded(linkSeconds, 1)) s after")
    let exactAfter = try timed(index, queries, k: k, exact: true)
    let approximateAfter = try timed(index, queries, k: k, exact: false)
    result["ann_recall10_after_churn"] = rounded(recall(approximateAfter.ids, exactAfter.ids, k: k), 4)
    result["ann_p50_ms_after_churn"] = rounded(percentile(approximateAfter.ms, 0.5))
    result["exact_p50_ms_after_churn"] = rounded(percentile(exactAfter.ms, 0.5))
    result["tombstones_after_churn"] = index.footprint.tombstones
}

let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
