/// Weaviate's autocut idea: cut a ranked list at a jump in its scores instead of at a fixed
/// threshold, since the score of a relevant hit differs from query to query.
///
/// The rule, for scores s₀ ≥ s₁ ≥ … ≥ sₙ₋₁ (n ≥ 2, not all equal): each position i gets how far the
/// normalized drop yᵢ = (s₀ − sᵢ) / (s₀ − sₙ₋₁) is ahead of the straight line xᵢ = i / (n − 1),
/// dᵢ = yᵢ − xᵢ. A jump is at i ≥ 1 where dᵢ is a local maximum (dᵢ > dᵢ₋₁, and dᵢ ≥ dᵢ₊₁ or i is
/// the last; rises under 1e-6 do not count): the scores fell faster there than on the way to it.
/// Two results never hold a jump. `autocut: N` keeps the results
/// before the N-th jump; with fewer jumps, all of them.
public enum Autocut {
    /// How many of `scores` (best first) to keep.
    public static func keptCount(scores: [Float], jumps: Int) -> Int {
        let n = scores.count
        guard n >= 2, jumps >= 1, let first = scores.first, let last = scores.last, first > last else { return n }
        let range = Double(first) - Double(last)
        let d = scores.enumerated().map { i, score in
            (Double(first) - Double(score)) / range - Double(i) / Double(n - 1)
        }
        var found = 0
        // Rises smaller than `epsilon` are rounding, not jumps (an evenly spaced list has none).
        let epsilon = 1e-6
        for i in 1..<n where d[i] > d[i - 1] + epsilon && (i == n - 1 || d[i] >= d[i + 1] - epsilon) {
            found += 1
            if found == jumps { return i }
        }
        return n
    }
}
