import Dispatch

/// LayerNorm over the last dimension: `out = (x - mean) / sqrt(var + eps) · gamma + beta`, with the
/// biased variance as in `torch.nn.LayerNorm`. Two passes (mean, then centred squares) for accuracy.
///
/// - x: (rows, width) with row stride `xStride` (default `width`); out: (rows, width) contiguous.
///   `out` may equal `x` when the strides match.
public func layerNorm(
    _ x: UnsafePointer<Float>, rows: Int, width: Int, xStride: Int? = nil,
    gamma: Tensor, beta: Tensor, eps: Float,
    into out: UnsafeMutablePointer<Float>
) {
    precondition(gamma.count == width && beta.count == width,
                 "layerNorm: gamma \(gamma.shape) / beta \(beta.shape) for width \(width)")
    let job = LayerNormJob(x: x, stride: xStride ?? width, width: width, g: gamma.pointer, b: beta.pointer,
                           eps: eps, out: out)
    // Rows split over one worker per core once there is enough of them (a batch of images: 1600 rows);
    // single-threaded, it leaves the other core idle between two threaded GEMMs.
    let workers = max(1, min(computeThreads, rows * width / (1 << 16)))
    parallelFor(workers) { worker in
        job.run(rows: rows * worker / workers ..< rows * (worker + 1) / workers)
    }
}

/// One `layerNorm` call's operands. @unchecked Sendable: workers read x and write disjoint rows of out.
private struct LayerNormJob: @unchecked Sendable {
    let x: UnsafePointer<Float>
    let stride, width: Int
    let g, b: UnsafePointer<Float>
    let eps: Float
    let out: UnsafeMutablePointer<Float>

    func run(rows: Range<Int>) {
        for r in rows {
            normalize(row: r)
        }
    }

    private func normalize(row r: Int) {
        let row = x + r * stride
        let dst = out + r * width
        let mean = sum(row, count: width) / Float(width)
        let meanV = Vec(repeating: mean)
        var acc = Vec.zero
        var i = 0
        while i + 16 <= width {
            let d = load(row + i) - meanV
            acc += d * d
            i += 16
        }
        var squares = acc.sum()
        while i < width {
            let d = row[i] - mean
            squares += d * d
            i += 1
        }
        let inverse = 1 / (squares / Float(width) + eps).squareRoot()
        let inverseV = Vec(repeating: inverse)
        i = 0
        while i + 16 <= width {
            store((load(row + i) - meanV) * inverseV * load(g + i) + load(b + i), dst + i)
            i += 16
        }
        while i < width {
            dst[i] = (row[i] - mean) * inverse * g[i] + b[i]
            i += 1
        }
    }
}
