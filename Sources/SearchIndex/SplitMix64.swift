/// SplitMix64 (Steele, Lea & Flood 2014): a seeded generator, so a graph's levels (and so its
/// shape) are the same on every run over the same inserts. Public so that tests and benchmarks
/// seed their data with the same generator instead of copies of it.
public struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    mutating func unitInterval() -> Double {
        (Double(next() >> 11) + 1) / Double(1 << 53)
    }
}
