#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Numerically stable softmax of one row in place: subtract the max, exponentiate, normalize.
/// Only the first `valid` entries take part; entries from `valid` to `count` are set to 0 (a causal
/// mask without materializing -inf).
public func softmaxRow(_ x: UnsafeMutablePointer<Float>, count: Int, valid: Int? = nil) {
    let n = min(valid ?? count, count)
    guard n > 0 else { return }
    var maxV = Vec(repeating: -.infinity)
    var i = 0
    while i + 16 <= n {
        let v = load(x + i)
        maxV.replace(with: v, where: v .> maxV)   // pointwiseMax goes lane by lane
        i += 16
    }
    var m = maxV.max()
    while i < n {
        m = max(m, x[i])
        i += 1
    }
    let mV = Vec(repeating: m)
    var sumV = Vec.zero
    i = 0
    while i + 16 <= n {
        let e = exp(load(x + i) - mV)
        store(e, x + i)
        sumV += e
        i += 16
    }
    var total = sumV.sum()
    while i < n {
        let e = expf(x[i] - m)
        x[i] = e
        total += e
        i += 1
    }
    let inverse = 1 / total
    let inverseV = Vec(repeating: inverse)
    i = 0
    while i + 16 <= n {
        store(load(x + i) * inverseV, x + i)
        i += 16
    }
    while i < n {
        x[i] *= inverse
        i += 1
    }
    if n < count {
        (x + n).update(repeating: 0, count: count - n)
    }
}

/// Softmax of each row of a (rows, cols) matrix in place.
public func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
    for r in 0..<rows {
        softmaxRow(x + r * cols, count: cols)
    }
}
