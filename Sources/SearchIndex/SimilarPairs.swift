import Dispatch
import NeuralOps
import Synchronization

/// Two rows of a matrix and their dot product (the cosine, for unit rows); `first < second`.
struct ScoredPair: Sendable, Equatable {
    let first: Int32
    let second: Int32
    let score: Float
}

/// Every pair of rows of a row-major (rows, dim) matrix whose dot product is ≥ `threshold`, found
/// with blocked matrix products instead of one dot product at a time: the upper triangle of
/// `values · valuesᵀ` is cut into tiles of `rowBlock` × `columnBlock` scores, each one sgemm into a
/// scratch buffer that is then scanned (16 lanes at a time) for scores ≥ `threshold`. Workers
/// (`workers`, one per core by default) take tiles from a shared counter; each holds one tile of
/// scratch, so memory is `workers × rowBlock × columnBlock` floats plus the pairs found.
///
/// Work is rows² × dim / 2 multiply-adds (the triangle only). Stops early and returns nil once more
/// than `maxPairs` pairs are found.
enum SimilarPairs {
    static func find(values: [Float], rows: Int, dim: Int, threshold: Float, maxPairs: Int,
                     rowBlock: Int = 512, columnBlock: Int = 2048, workers: Int = computeThreads) -> [ScoredPair]? {
        precondition(values.count == rows * dim, "SimilarPairs: \(values.count) values for (\(rows), \(dim))")
        precondition(rowBlock > 0 && columnBlock > 0 && rows < Int(Int32.max))
        guard rows >= 2 else { return [] }
        // Tiles of the upper triangle: row block r0..<r0+rowBlock against columns r0..<rows, in
        // column blocks (the diagonal tile's lower half is computed and skipped).
        var tiles: [(row: Int, column: Int)] = []
        for row in stride(from: 0, to: rows, by: rowBlock) {
            for column in stride(from: row, to: rows, by: columnBlock) { tiles.append((row, column)) }
        }
        let job = Job(rows: rows, dim: dim, threshold: threshold, maxPairs: maxPairs,
                      rowBlock: rowBlock, columnBlock: columnBlock, tiles: tiles)
        let workerCount = max(1, min(workers, tiles.count))
        values.withUnsafeBufferPointer { buffer in
            let matrix = SendablePointer(base: buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: workerCount) { _ in job.work(matrix) }
        }
        return job.result()
    }

    /// The matrix, read by every worker (never written while they run).
    struct SendablePointer: @unchecked Sendable {
        let base: UnsafePointer<Float>
    }

    /// One `find` call: the tiles, the next tile to take, the pairs found.
    private final class Job: Sendable {
        let rows: Int, dim: Int, threshold: Float, maxPairs: Int
        let rowBlock: Int, columnBlock: Int
        let tiles: [(row: Int, column: Int)]
        let nextTile = Atomic<Int>(0)
        let found = Atomic<Int>(0)
        let overflowed = Atomic<Bool>(false)
        let pairs = Mutex<[ScoredPair]>([])

        init(rows: Int, dim: Int, threshold: Float, maxPairs: Int, rowBlock: Int, columnBlock: Int,
             tiles: [(row: Int, column: Int)]) {
            (self.rows, self.dim, self.threshold, self.maxPairs) = (rows, dim, threshold, maxPairs)
            (self.rowBlock, self.columnBlock, self.tiles) = (rowBlock, columnBlock, tiles)
        }

        func result() -> [ScoredPair]? {
            overflowed.load(ordering: .relaxed) ? nil : pairs.withLock { $0 }
        }

        func work(_ matrix: SendablePointer) {
            var scratch = [Float](repeating: 0, count: rowBlock * columnBlock)   // (rowBlock, columnBlock)
            var local: [ScoredPair] = []
            while !overflowed.load(ordering: .relaxed) {
                let t = nextTile.add(1, ordering: .relaxed).oldValue
                guard t < tiles.count else { break }
                let before = local.count
                scratch.withUnsafeMutableBufferPointer { out in
                    scan(tile: tiles[t], matrix: matrix.base, scores: out.baseAddress!, into: &local)
                }
                let total = found.add(local.count - before, ordering: .relaxed).newValue
                if total > maxPairs { overflowed.store(true, ordering: .relaxed) }
            }
            if !local.isEmpty { pairs.withLock { $0.append(contentsOf: local) } }
        }

        /// One tile: scores (m, n) = rows row..<row+m · (rows column..<column+n)ᵀ, then the pairs
        /// above the diagonal scoring ≥ threshold.
        private func scan(tile: (row: Int, column: Int), matrix: UnsafePointer<Float>,
                          scores: UnsafeMutablePointer<Float>, into pairs: inout [ScoredPair]) {
            let m = min(rowBlock, rows - tile.row), n = min(columnBlock, rows - tile.column)
            gemm(.none, .transposed, m: m, n: n, k: dim,
                 a: matrix + tile.row * dim, lda: dim,
                 b: matrix + tile.column * dim, ldb: dim,
                 c: scores, ldc: n)
            let lanes = 16
            let limit = SIMD16<Float>(repeating: threshold)
            for i in 0..<m {
                let globalRow = tile.row + i
                // Only columns after the row itself (each pair once, no self-pairs).
                var j = max(0, globalRow + 1 - tile.column)
                let line = scores + i * n
                while j + lanes <= n {
                    let chunk = UnsafeRawPointer(line + j).loadUnaligned(as: SIMD16<Float>.self)
                    if any(chunk .>= limit) {
                        for lane in 0..<lanes where chunk[lane] >= threshold {
                            pairs.append(ScoredPair(first: Int32(globalRow), second: Int32(tile.column + j + lane), score: chunk[lane]))
                        }
                    }
                    j += lanes
                }
                while j < n {
                    if line[j] >= threshold {
                        pairs.append(ScoredPair(first: Int32(globalRow), second: Int32(tile.column + j), score: line[j]))
                    }
                    j += 1
                }
            }
        }
    }
}
