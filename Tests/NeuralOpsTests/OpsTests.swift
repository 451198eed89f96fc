import Foundation
import Testing
@testable import NeuralOps

// MARK: - GEMM (hand-computed)

@Test func gemmAllTransposeCombinations() {
    // A = [[1, 2, 3], [4, 5, 6]] (2, 3); B = [[1, 0], [0, 1], [1, 1]] (3, 2)
    // A·B = [[4, 5], [10, 11]]
    let a: [Float] = [1, 2, 3, 4, 5, 6]
    let aT: [Float] = [1, 4, 2, 5, 3, 6]          // Aᵀ stored (3, 2)
    let b: [Float] = [1, 0, 0, 1, 1, 1]
    let bT: [Float] = [1, 0, 1, 0, 1, 1]          // Bᵀ stored (2, 3)
    let expected: [Float] = [4, 5, 10, 11]
    for (ta, sa, lda) in [(Transpose.none, a, 3), (.transposed, aT, 2)] {
        for (tb, sb, ldb) in [(Transpose.none, b, 2), (.transposed, bT, 3)] {
            var c = [Float](repeating: 0, count: 4)
            gemm(ta, tb, m: 2, n: 2, k: 3, a: sa, lda: lda, b: sb, ldb: ldb, c: &c, ldc: 2)
            #expect(c == expected, "transA \(ta) transB \(tb)")
        }
    }
}

@Test func gemmAlphaBetaAndStridedViews() {
    // C = 2 · A[:, 1...2] · I + 1 · C, where A's view is columns 1...2 of a (2, 4) matrix (lda 4).
    let a: [Float] = [0, 1, 2, 0,
                      0, 3, 4, 0]
    let identity: [Float] = [1, 0, 0, 1]
    var c: [Float] = [10, 20, 30, 40]
    a.withUnsafeBufferPointer { ap in
        gemm(.none, .none, m: 2, n: 2, k: 2, alpha: 2, a: ap.baseAddress! + 1, lda: 4,
             b: identity, ldb: 2, beta: 1, c: &c, ldc: 2)
    }
    #expect(c == [12, 24, 36, 48])
}

// MARK: - Layers against PyTorch

@Test(arguments: [false, true])
func linearMatchesTorch(manyRows: Bool) throws {
    // 3 rows: NeuralOps' small-rows kernel; 40 rows: one sgemm.
    let fixture = try OpsFixture.load()
    let f = manyRows ? fixture.linearManyRows : fixture.linear
    #expect((f.rows <= smallRowsThreshold) != manyRows)
    // The many-rows case gives its inputs as formulas (see tools/make_neuralops_expected.py).
    let x = f.x ?? (0..<f.rows * f.in).map { (n: Int) -> Float in
        let r = n / f.in, i = n % f.in
        let value: Int = (5 * r + 3 * i) % 17 - 8
        return Float(value) / 4
    }
    let w = f.w ?? (0..<f.out * f.in).map { (n: Int) -> Float in
        let o = n / f.in, i = n % f.in
        let value: Int = (7 * o + 11 * i + o * i) % 5 - 2
        return Float(value) / 8
    }
    let weight = Tensor(shape: [f.out, f.in], values: w)
    let bias = Tensor(shape: [f.out], values: f.b)
    var y = [Float](repeating: 0, count: f.rows * f.out)
    linear(x, rows: f.rows, weight: weight, bias: bias, into: &y)
    #expect(maxError(y, f.y) < 1e-5)

    // accumulate adds onto what is there (a residual connection)
    var residual = [Float](repeating: 1, count: f.rows * f.out)
    linear(x, rows: f.rows, weight: weight, bias: bias, into: &residual, accumulate: true)
    #expect(maxError(residual, f.y.map { $0 + 1 }) < 1e-5)

    // The prepared weight (the packed kernel on AVX2+FMA CPUs) gives the same.
    var packedY = [Float](repeating: 1, count: f.rows * f.out)
    linear(x, rows: f.rows, weight: LinearWeight(weight), bias: bias, into: &packedY, accumulate: true)
    #expect(maxError(packedY, f.y.map { $0 + 1 }) < 1e-5)
}

@Test func layerNormMatchesTorch() throws {
    let f = try OpsFixture.load().layerNorm
    var y = [Float](repeating: 0, count: f.x.count)
    layerNorm(f.x, rows: f.rows, width: f.width,
              gamma: Tensor(shape: [f.width], values: f.gamma), beta: Tensor(shape: [f.width], values: f.beta),
              eps: f.eps, into: &y)
    #expect(maxError(y, f.y) < 1e-5)
}

@Test func activationsMatchTorch() throws {
    let f = try OpsFixture.load().activations
    var quick = f.x
    Activation.quickGELU.apply(&quick, count: quick.count)
    #expect(maxError(quick, f.quickGELU) < 1e-6)
    var exact = f.x
    Activation.gelu.apply(&exact, count: exact.count)
    #expect(maxError(exact, f.gelu) < 1e-6)
    #expect(Activation(rawValue: "quick_gelu") == .quickGELU)
    #expect(Activation(rawValue: "gelu") == .gelu)
}

@Test func softmaxMatchesTorchAndIsStable() throws {
    let f = try OpsFixture.load().softmax
    var y = f.x
    softmaxRows(&y, rows: f.rows, cols: f.cols)
    #expect(y.allSatisfy { $0.isFinite })
    #expect(maxError(y, f.y) < 1e-6)

    // Hand-computed: softmax([1000, 1001]) = [1/(1+e), e/(1+e)]; masked tail is zeroed.
    var row: [Float] = [1000, 1001, 5e6]
    softmaxRow(&row, count: 3, valid: 2)
    #expect(abs(row[0] - 0.26894142) < 1e-6 && abs(row[1] - 0.73105858) < 1e-6 && row[2] == 0)
}

@Test func vectorExpTracksLibm() {
    var worst: Float = 0
    var x: Float = -87
    while x < 88 {
        let lanes = Vec((0..<16).map { x + Float($0) * 0.0137 })
        let e = NeuralOps.exp(lanes)
        for i in 0..<16 {
            let reference = Foundation.exp(Double(lanes[i]))
            worst = max(worst, Float(abs(Double(e[i]) - reference) / reference))
        }
        x += 0.37
    }
    #expect(worst < 4e-7)
}

@Test(arguments: [false, true])
func attentionMatchesTorch(causal: Bool) throws {
    let fixture = try OpsFixture.load()
    let f = causal ? fixture.attentionCausal : fixture.attention
    let width = f.heads * f.headDim
    var scores = [Float](repeating: .nan, count: attentionScratchCount(batch: f.batch, heads: f.heads, seq: f.seq,
                                                                         headDim: f.headDim))
    var y = [Float](repeating: .nan, count: f.batch * f.seq * width)
    f.qkv.withUnsafeBufferPointer { qkv in
        let base = qkv.baseAddress!
        multiHeadAttention(q: base, k: base + width, v: base + 2 * width, stride: 3 * width,
                           batch: f.batch, seq: f.seq, heads: f.heads, headDim: f.headDim, causal: causal,
                           scores: &scores, into: &y)
    }
    #expect(maxError(y, f.y) < 1e-5)
}

@Test func l2NormalizeGivesUnitLength() {
    var v: [Float] = (0..<37).map { Float($0) - 11.5 }
    l2Normalize(&v, count: v.count)
    let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
    #expect(abs(norm - 1) < 1e-6)
    var zero = [Float](repeating: 0, count: 5)
    l2Normalize(&zero, count: 5)
    #expect(zero == [0, 0, 0, 0, 0])
}

@Test func workspaceRegionsAreAlignedAndDisjoint() {
    let workspace = Workspace(capacity: Workspace.rounded(5) + Workspace.rounded(20))
    let a = workspace.region(5)
    let b = workspace.region(20)
    #expect(b - a == 16)
    #expect(Int(bitPattern: a) % 64 == Int(bitPattern: b) % 64)
}

@Test func borrowedWorkspacesAreReusedOnlyWhenBigEnough() {
    // The test keeps references so identities stay meaningful. Other tests running meanwhile give back
    // workspaces of their own, so `first` may be bigger than asked for; sizes are relative to it.
    let capacity = Workspace.rounded(123_457)
    let (first, region) = Workspace.borrow(capacity: capacity) { ws in (ws, ws.region(capacity)) }  // filled up
    let (again, regionAgain) = Workspace.borrow(capacity: capacity) { ws in (ws, ws.region(capacity)) }
    #expect(again === first && regionAgain == region, "given back, reset, and taken again")
    // While one is borrowed, a second borrower gets another; a bigger request gets a bigger one.
    let nested = Workspace.borrow(capacity: capacity) { outer in
        Workspace.borrow(capacity: capacity) { inner in inner !== outer }
    }
    #expect(nested)
    let bigger = Workspace.borrow(capacity: first.capacity + 16) { $0 }
    #expect(bigger !== first && bigger.capacity >= first.capacity + 16)
}
