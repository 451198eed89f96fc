#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The MLP activation, chosen by a model config's `hidden_act`.
public enum Activation: String, Sendable, CaseIterable {
    /// `x · sigmoid(1.702 x)` (OpenAI CLIP).
    case quickGELU = "quick_gelu"
    /// Exact `0.5 · x · (1 + erf(x / √2))` (`torch.nn.GELU()`).
    case gelu = "gelu"

    /// Applies the activation to `count` floats in place.
    public func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .quickGELU: applyQuickGELU(x, count: count)
        case .gelu: applyGELU(x, count: count)
        }
    }
}

/// `x · sigmoid(1.702 x) = x / (1 + exp(-1.702 x))`, in place.
public func applyQuickGELU(_ x: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 16 <= count {
        let v = load(x + i)
        store(v / (1 + exp(v * -1.702)), x + i)
        i += 16
    }
    while i < count {
        x[i] = x[i] / (1 + expf(x[i] * -1.702))
        i += 1
    }
}

/// Exact GELU with `erf`, in place. Scalar: only non-OpenAI checkpoints use it.
public func applyGELU(_ x: UnsafeMutablePointer<Float>, count: Int) {
    let inverseSqrt2: Float = 0.70710678118654752
    for i in 0..<count {
        x[i] = 0.5 * x[i] * (1 + erff(x[i] * inverseSqrt2))
    }
}
