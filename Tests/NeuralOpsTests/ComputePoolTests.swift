import Dispatch
import Synchronization
import Testing
@testable import NeuralOps

// MARK: - parallelFor: every iteration exactly once, also with callers racing for the pool

/// Counts per iteration, shared with the workers.
private final class Tally: Sendable {
    private let counts: Mutex<[Int]>
    init(_ n: Int) { counts = Mutex([Int](repeating: 0, count: n)) }
    func count(_ i: Int) { counts.withLock { $0[i] += 1 } }
    var all: [Int] { counts.withLock { $0 } }
}

@Test func parallelForRunsEachIterationOnce() {
    for iterations in [0, 1, 2, 3, 17] {
        for _ in 0..<200 {   // many short jobs back to back: workers that wake late must find them used up
            let tally = Tally(iterations)
            parallelFor(iterations) { tally.count($0) }
            #expect(tally.all == [Int](repeating: 1, count: iterations))
        }
    }
}

@Test func parallelForFromConcurrentCallers() {
    // Several threads at once, as concurrent server requests: one gets the pool, the others the fallback.
    let failures = Atomic<Int>(0)
    DispatchQueue.concurrentPerform(iterations: 6) { caller in
        for round in 0..<300 {
            let n = 2 + (caller + round) % 5
            let tally = Tally(n)
            parallelFor(n) { tally.count($0) }
            if tally.all != [Int](repeating: 1, count: n) { failures.add(1, ordering: .relaxed) }
        }
    }
    #expect(failures.load(ordering: .relaxed) == 0)
}
