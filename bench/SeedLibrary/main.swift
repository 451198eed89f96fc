// Stores N random unit vectors in a library as rows of files that do not exist
// (`/seed-library/N.jpg`), so `/search` can be timed at 10k/100k rows without encoding images
// (bench/search-http.py runs it). A bench helper, not part of the product.
//
//   swift build -c release --product seed-library
//   .build/release/seed-library --db PATH|URL --count N --model-name NAME --dim D [--seed 42]
// (a postgres:// or postgresql:// URL seeds that PostgreSQL library, as `--db` does for clip-server).
import Foundation
import LibraryStore
import NeuralOps
import SearchIndex

var options: [String: String] = ["--seed": "42"]
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let flag = arguments.next() {
    guard ["--db", "--count", "--model-name", "--dim", "--seed"].contains(flag), let value = arguments.next() else {
        FileHandle.standardError.write(Data("usage: seed-library --db PATH --count N --model-name NAME --dim D [--seed S]\n".utf8))
        exit(2)
    }
    options[flag] = value
}
guard let db = options["--db"], let count = options["--count"].flatMap(Int.init), let modelName = options["--model-name"],
      let dim = options["--dim"].flatMap(Int.init), let seed = options["--seed"].flatMap(UInt64.init) else {
    FileHandle.standardError.write(Data("seed-library: --db, --count, --model-name and --dim are required\n".utf8))
    exit(2)
}

let library: any LibraryStore = PostgresURL.isPostgres(db)
    ? try PostgresLibrary(url: db, modelName: modelName, dimension: dim)
    : try SQLiteLibrary(databasePath: db, dataDirectory: URL(fileURLWithPath: db).deletingLastPathComponent(),
                        modelName: modelName, dimension: dim)
var generator = SplitMix64(seed: seed)   // the same vectors on every run
let first = library.vectors.count
var batch: [FileEntry] = []
for i in first..<(first + count) {
    // Box-Muller normals → a uniformly random direction.
    let normals = (0..<dim).map { _ -> Float in
        let u1 = max(Double(generator.next() >> 11) / Double(1 << 53), 1e-300)
        let u2 = Double(generator.next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
    }
    let sha = ContentHash.sha256Hex(Array("seed-library \(seed) \(i)".utf8))
    batch.append(FileEntry(path: "/seed-library/\(i).jpg", sha256: sha, mime: "image/jpeg", width: 1, height: 1,
                           byteSize: 0, mtime: 0, embedding: l2Normalized(normals)!, thumbnailJPEG: []))
    // 1000 rows per transaction: seeding 100k takes seconds, not an fsync each.
    if batch.count == 1000 || i == first + count - 1 {
        _ = try library.indexFiles(batch)
        batch.removeAll(keepingCapacity: true)
    }
    if (i + 1) % 10_000 == 0 { FileHandle.standardError.write(Data("seeded \(i + 1)\n".utf8)) }
}
print("{\"count\":\(library.vectors.count)}")
