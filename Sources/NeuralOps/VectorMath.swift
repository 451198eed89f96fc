#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Elementwise helpers, 16 lanes at a time with a scalar tail.

public typealias Vec = SIMD16<Float>

// MARK: - Loads and stores

@inline(__always)
func load(_ p: UnsafePointer<Float>) -> Vec {
    UnsafeRawPointer(p).loadUnaligned(as: Vec.self)
}

@inline(__always)
func store(_ v: Vec, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec.self)
}

// MARK: - exp

/// `exp` on 16 lanes (Cephes `expf` scheme: range reduction by ln 2 in two parts, degree-5
/// polynomial, scale by 2^n through the exponent bits). Within ~2 ulp of `expf` over
/// [-87.3, 88.3]; inputs are clamped to that range (exp(-87.3) ≈ 1e-38, so underflow gives a tiny
/// positive number rather than 0; callers here only add it to 1 or normalize by a sum ≥ 1).
@inline(__always)
public func exp(_ x: Vec) -> Vec {
    // Mask-and-replace compiles to compares and blends; `clamped`/`pointwiseMin` go lane by lane.
    let clamped = x.replacing(with: -87.3, where: x .< -87.3).replacing(with: 88.3, where: x .> 88.3)
    // n = round(x / ln2) by the 1.5·2^23 trick: adding it leaves n in the low mantissa bits, rounded to
    // nearest even (no float→int conversion, which SIMD does lane by lane).
    let magic: Float = 12582912
    let shifted = clamped * 1.44269504088896341 + magic
    let n = shifted - magic
    // r = x - n·ln2, with ln2 split so n·C1 is exact.
    var r = clamped - n * 0.693359375
    r = r + n * 2.12194440e-4
    var p = Vec(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    let y = p * (r * r) + r + 1
    // 2^n from the exponent bits: n = bits(shifted) - bits(magic).
    let bits = (unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
    return y * unsafeBitCast(bits, to: Vec.self)
}

// MARK: - Sums and elementwise arithmetic

/// `y[i] += x[i]`.
public func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 16 <= count {
        store(load(x + i) + load(y + i), y + i)
        i += 16
    }
    while i < count {
        y[i] += x[i]
        i += 1
    }
}

/// Sum of `count` floats.
@inline(__always)
func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var acc = Vec.zero
    var i = 0
    while i + 16 <= count {
        acc += load(x + i)
        i += 16
    }
    var total = acc.sum()
    while i < count {
        total += x[i]
        i += 1
    }
    return total
}

/// Scales `x` in place to unit L2 norm (left as is when its norm is 0). The sum of squares is taken
/// in Double (each square of a Float is exact there), so `v` and `c·v` normalize alike and the
/// result does not depend on how the sum is split into lanes; an embedding is 512 floats, so the
/// scalar loop costs nothing beside a tower pass.
public func l2Normalize(_ x: UnsafeMutablePointer<Float>, count: Int) {
    var squares: Double = 0
    for i in 0..<count { squares += Double(x[i]) * Double(x[i]) }
    guard squares > 0 else { return }
    let inverse = Float(1 / squares.squareRoot())
    for i in 0..<count { x[i] *= inverse }
}

/// A unit-length copy of `vector`: the one L2 normalization of the project (the towers' outputs,
/// stored embeddings, query vectors). nil when it cannot be a direction: all zeros, NaN/infinity, or
/// values whose squares overflow or underflow a Float (the result is then not unit length).
public func l2Normalized(_ vector: [Float]) -> [Float]? {
    guard !vector.isEmpty, vector.allSatisfy(\.isFinite) else { return nil }
    var copy = vector
    let count = copy.count
    copy.withUnsafeMutableBufferPointer { l2Normalize($0.baseAddress!, count: count) }
    let squares = copy.reduce(Float(0)) { $0 + $1 * $1 }
    return abs(squares - 1) < 1e-3 ? copy : nil
}
